"""The Optimize asset (issue 19): open savings per team in the Dagster UI, and the weekly digest.

Asset ``optimize/savings_digest`` (group ``alerts``, after the Optimize marts): its metadata is the
organisation's open opportunity value, each team's, the ten largest opportunities, the commitment
recommendation (as billed and right-sized) and last month's realized savings; it sends each team
its weekly digest through the alert routing (orchestration/alerts.py: same webhooks, same ledger).
"""


from pathlib import Path

import dagster as dg
import duckdb

from orchestration.alerts import OPPORTUNITIES_TABLE, route_savings_digests, summary_line

SAVINGS_ASSET_KEY = ("optimize", "savings_digest")
RECOMMENDATIONS_TABLE = ("marts", "fct_commitment_purchase_recommendations")
REALIZED_TABLE = ("marts", "fct_realized_savings_monthly")
TOP = 10


def savings_metadata(warehouse_path: Path) -> dict:
    """What the asset shows: open opportunities (newest period), the commitment optimum, realized savings."""
    if not Path(warehouse_path).exists():
        return {"opportunities": "the warehouse is not built yet"}
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        tables = {tuple(r) for r in con.execute(
            "select table_schema, table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
        if OPPORTUNITIES_TABLE not in tables:
            return {"opportunities": "marts.fct_savings_opportunities is not built yet"}
        latest = "(select max(billing_period) from marts.fct_savings_opportunities)"
        period, count, value = con.execute(f"""
            select strftime(max(billing_period), '%Y-%m'), count(*), coalesce(sum(estimated_monthly_saving), 0)
            from marts.fct_savings_opportunities where is_open and billing_period = {latest}""").fetchone()
        by_team = con.execute(f"""
            select team, count(*), round(sum(estimated_monthly_saving), 2) from marts.fct_savings_opportunities
            where is_open and billing_period = {latest} group by team order by 3 desc, 1""").fetchall()
        top = con.execute(f"""
            select team, kind, resource_id, estimated_monthly_saving, confidence from marts.fct_savings_opportunities
            where is_open and billing_period = {latest}
            order by estimated_monthly_saving desc, kind, resource_id limit {TOP}""").fetchall()
        metadata = {
            "billing_period": period or "none",
            "open_opportunities": int(count),
            "open_monthly_saving": round(float(value), 2),
            "by_team": dg.MetadataValue.json([{"team": t, "open": n, "monthly_saving": v} for t, n, v in by_team]),
            "top_opportunities": dg.MetadataValue.md(
                "| team | kind | resource | monthly saving | confidence |\n|---|---|---|---:|---|\n"
                + "\n".join(f"| {t} | {k} | `{r}` | {s:,.2f} | {c} |" for t, k, r, s, c in top)),
        }
        if RECOMMENDATIONS_TABLE in tables:
            metadata["commitment_recommendation"] = dg.MetadataValue.json([
                {"lookback_days": d, "baseline": b, "hourly_commitment": round(c, 4),
                 "expected_net_savings_monthly": round(s, 2), "coverage_pct": round(p or 0, 1),
                 "discount_rate": round(r, 4), "discount_source": src, "is_approximation": a}
                for d, b, c, s, p, r, src, a in con.execute("""
                    select lookback_days, baseline, hourly_commitment, expected_net_savings_monthly,
                           expected_coverage_pct, discount_rate, discount_source, is_approximation
                    from marts.fct_commitment_purchase_recommendations where is_optimal order by 1, 2""").fetchall()])
        if REALIZED_TABLE in tables:
            (realized,) = con.execute("""
                select coalesce(round(sum(realized_monthly_saving), 2), 0) from marts.fct_realized_savings_monthly
                where billing_period = (select max(billing_period) from marts.fct_realized_savings_monthly)""").fetchone()
            metadata["realized_monthly_saving_latest_period"] = float(realized)
    return metadata


def build_savings_asset():
    """``optimize/savings_digest``: metadata for the UI, the weekly digest to each team's webhook."""
    from orchestration.settings import Settings

    @dg.asset(key=dg.AssetKey(list(SAVINGS_ASSET_KEY)), group_name="alerts", compute_kind="python",
              deps=[dg.AssetKey(list(OPPORTUNITIES_TABLE)), dg.AssetKey(list(RECOMMENDATIONS_TABLE)),
                    dg.AssetKey(list(REALIZED_TABLE))],
              required_resource_keys={"finops"},
              description="Open savings opportunities per team (top first), the commitment recommendation and "
                          "realized savings as metadata; sends each team its weekly savings digest (teams seed, "
                          "webhook_url; once per ISO week, the alerts' ledger).")
    def savings_digest(context: dg.AssetExecutionContext):
        settings = Settings.from_env()
        data_dir = Path(context.resources.finops.data_dir)
        warehouse = data_dir / "warehouse.duckdb"
        report = route_savings_digests(warehouse, data_dir / "alerts", dagster_url=settings.dagster_url,
                                       attempts=settings.alert_attempts)
        for delivery in report.undelivered:
            context.log.info(f"savings digest {delivery.alert.alert_id} for team {delivery.alert.team} not "
                             f"delivered: {delivery.error}")
        return dg.MaterializeResult(metadata={
            **savings_metadata(warehouse),
            "digests": summary_line(report).replace("alerts:", "digests:", 1),
            "digest_deliveries": dg.MetadataValue.json(
                [d.as_metadata() for d in report.deliveries if d.status != "already_sent"]),
        })

    return savings_digest
