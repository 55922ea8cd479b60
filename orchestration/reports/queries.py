"""The review pack's queries: small reads of the published marts (the contract in docs/warehouse.md).

Every number is computed by dbt; these queries only select, filter to the review period
and rank. Each section names the marts it needs: when one is missing from the published
file (a mart not built yet), the section is reported as not available instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb

SCHEMA = "marts"


class MissingMart(Exception):
    """A mart (or a column of one) the section needs is not in the published file."""


@dataclass
class Section:
    key: str
    title: str
    available: bool = True
    missing: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    # DECIMAL money (some targets) as float: the pack formats and charts numbers, it does no arithmetic of record
    return [{n: float(v) if isinstance(v, Decimal) else v for n, v in zip(names, r)} for r in cursor.fetchall()]


class Marts:
    """What the published file holds: tables of schema marts and their columns."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.columns: dict[str, set[str]] = {}
        for table, column in con.execute(
                "select table_name, column_name from information_schema.columns "
                "where table_catalog = current_database() and table_schema = ?", [SCHEMA]).fetchall():
            self.columns.setdefault(table, set()).add(column)

    def has(self, table: str, *cols: str) -> bool:
        return table in self.columns and set(cols) <= self.columns[table]

    def require(self, needs: dict[str, tuple[str, ...]]) -> None:
        missing = [f"{t}({', '.join(c for c in cols if c not in self.columns.get(t, set()))})"
                   if t in self.columns else t for t, cols in needs.items() if not self.has(t, *cols)]
        if missing:
            raise MissingMart(", ".join(missing))


def publication(con) -> dict[str, Any]:
    found = rows(con, f"select * from {SCHEMA}._published")
    return found[0] if found else {}


def periods(con, marts: Marts) -> list[date]:
    """Billing periods in the published file (from the allocation mart, else showback)."""
    for table in ("fct_cost_allocated_daily", "rpt_showback_monthly"):
        if marts.has(table, "billing_period"):
            return [r[0] for r in con.execute(
                f"select distinct billing_period from {SCHEMA}.{table} order by 1").fetchall()]
    return []


def currencies(con, marts: Marts, period: date) -> list[str]:
    """The billing currencies of ``period``, the one with the most cost first (USD when unknown)."""
    if marts.has("fct_cost_allocated_daily", "billing_currency"):
        found = [r[0] for r in con.execute(
            f"""select billing_currency from {SCHEMA}.fct_cost_allocated_daily
                where billing_period = ? and billing_currency is not null
                group by 1 order by sum(abs(billed_cost)) desc, 1""", [period]).fetchall()]
        if found:
            return found
    return ["USD"]


# --- one function per section; each gets (con, marts, period, prior) and returns its data -------------

def cost_trend(con, marts: Marts, period: date, prior: date | None) -> dict:
    marts.require({"fct_cost_allocated_daily": ("charge_date", "billing_period", "effective_cost", "billed_cost"),
                   "rpt_showback_monthly": ("billing_period", "team", "total_cost")})
    daily = rows(con, f"""
        select charge_date, sum(effective_cost) as effective_cost, sum(billed_cost) as billed_cost
        from {SCHEMA}.fct_cost_allocated_daily where billing_period <= ? group by 1 order by 1""", [period])
    monthly = rows(con, f"""
        select billing_period, sum(effective_cost) as effective_cost, sum(billed_cost) as billed_cost
        from {SCHEMA}.fct_cost_allocated_daily where billing_period <= ? group by 1 order by 1""", [period])
    teams = rows(con, f"""
        select billing_period, team, total_cost from {SCHEMA}.rpt_showback_monthly
        where billing_period <= ? order by billing_period, team""", [period])
    return {"daily": daily, "monthly": monthly, "teams": teams}


def showback(con, marts: Marts, period: date, prior: date | None) -> dict:
    marts.require({"rpt_showback_monthly": ("billing_period", "team", "direct_cost", "shared_cost", "total_cost",
                                            "prior_period_cost", "change_pct", "untagged_cost_pct")})
    owner = "t.owner, t.accountability" if marts.has("dim_teams", "team", "owner", "accountability") else \
        "null as owner, null as accountability"
    join = f"left join {SCHEMA}.dim_teams t on t.team = s.team" if marts.has("dim_teams", "team") else ""
    budget = "s.budget, s.budget_variance" if marts.has("rpt_showback_monthly", "budget", "budget_variance") else \
        "null as budget, null as budget_variance"
    return {"rows": rows(con, f"""
        select s.team, {owner}, s.direct_cost, s.shared_cost, s.total_cost, s.prior_period_cost, s.change_pct,
               case when s.total_cost <> 0 then 100.0 * s.shared_cost / s.total_cost end as shared_cost_share_pct,
               {budget}, s.untagged_cost_pct
        from {SCHEMA}.rpt_showback_monthly s {join}
        where s.billing_period = ? order by s.total_cost desc""", [period])}


def top_movers(con, marts: Marts, period: date, prior: date | None) -> dict:
    marts.require({"fct_cost_allocated_daily": ("billing_period", "team", "service_name", "effective_cost")})
    if prior is None:
        return {"rows": [], "note": "No earlier billing period to compare with."}
    return {"rows": rows(con, f"""
        with by_team_service as (
            select team, service_name,
                   sum(case when billing_period = ? then effective_cost else 0 end) as current_cost,
                   sum(case when billing_period = ? then effective_cost else 0 end) as prior_cost
            from {SCHEMA}.fct_cost_allocated_daily where billing_period in (?, ?)
            group by team, service_name
        )
        select team, service_name, current_cost, prior_cost, current_cost - prior_cost as change,
               case when prior_cost <> 0 then 100.0 * (current_cost - prior_cost) / abs(prior_cost) end as change_pct
        from by_team_service
        order by abs(current_cost - prior_cost) desc, team, service_name limit 10""", [period, prior, period, prior])}


def anomalies(con, marts: Marts, period: date, prior: date | None) -> dict:
    marts.require({"fct_cost_anomalies_daily": ("charge_date", "team", "service_name", "actual_cost",
                                                "expected_cost", "score", "severity", "owner", "alert_channel")})
    in_period = ("billing_period = ?" if marts.has("fct_cost_anomalies_daily", "billing_period")
                 else "date_trunc('month', charge_date) = ?")
    return {"rows": rows(con, f"""
        select charge_date, team, service_name, severity, actual_cost, expected_cost,
               actual_cost - expected_cost as excess_cost, score, owner, alert_channel
        from {SCHEMA}.fct_cost_anomalies_daily where {in_period}
        order by case severity when 'high' then 0 when 'medium' then 1 else 2 end, score desc, charge_date""",
        [period])}


def budget_forecast(con, marts: Marts, period: date, prior: date | None) -> dict:
    marts.require({"fct_budget_forecast_monthly": ("billing_period", "team", "month_to_date_cost", "forecast_cost",
                                                   "forecast_low", "forecast_high", "budget",
                                                   "projected_variance")})
    return {"rows": rows(con, f"""
        select team, month_to_date_cost, forecast_cost, forecast_low, forecast_high, budget, projected_variance,
               case when budget <> 0 then 100.0 * projected_variance / budget end as projected_variance_pct
        from {SCHEMA}.fct_budget_forecast_monthly where billing_period = ?
        order by forecast_cost desc""", [period])}


def commitments(con, marts: Marts, period: date, prior: date | None) -> dict:
    marts.require({"fct_commitments_monthly": ("billing_period", "commitment_type", "eligible_cost", "covered_cost",
                                               "coverage_pct", "commitment_cost", "used_commitment",
                                               "utilization_pct", "savings")})
    trend = rows(con, f"""
        select billing_period, commitment_type, coverage_pct, utilization_pct
        from {SCHEMA}.fct_commitments_monthly where billing_period <= ? order by 1, 2""", [period])
    current = rows(con, f"""
        select commitment_type, eligible_cost, covered_cost, coverage_pct, commitment_cost, used_commitment,
               commitment_cost - used_commitment as unused_commitment, utilization_pct, savings
        from {SCHEMA}.fct_commitments_monthly where billing_period = ? order by commitment_type""", [period])
    targets = {}
    if marts.has("fct_finops_kpis_monthly", "billing_period", "kpi_name", "target"):
        targets = {r["kpi_name"]: r["target"] for r in rows(con, f"""
            select kpi_name, target from {SCHEMA}.fct_finops_kpis_monthly
            where billing_period = ? and kpi_name in ('commitment_coverage_pct', 'commitment_utilization_pct')""",
            [period])}
    return {"rows": current, "trend": trend, "targets": targets}


def unit_costs(con, marts: Marts, period: date, prior: date | None) -> dict:
    marts.require({"fct_unit_cost_monthly": ("billing_period", "unit_metric", "scope", "cost", "units",
                                             "cost_per_unit", "prior_cost_per_unit", "change_pct")})
    margin = ("is_negative_margin, unit_margin, revenue_per_unit"
              if marts.has("fct_unit_cost_monthly", "is_negative_margin", "unit_margin", "revenue_per_unit")
              else "null::boolean as is_negative_margin, null::double as unit_margin, "
                   "null::double as revenue_per_unit")
    label = "unit_label" if marts.has("fct_unit_cost_monthly", "unit_label") else "null as unit_label"
    current = rows(con, f"""
        select unit_metric, scope, {label}, cost, units, cost_per_unit, prior_cost_per_unit, change_pct, {margin}
        from {SCHEMA}.fct_unit_cost_monthly where billing_period = ?
        order by unit_metric, scope""", [period])
    trend = rows(con, f"""
        select billing_period, unit_metric, scope, cost_per_unit
        from {SCHEMA}.fct_unit_cost_monthly where billing_period <= ? order by 1, 2, 3""", [period])
    return {"rows": current, "trend": trend}


def kpis(con, marts: Marts, period: date, prior: date | None) -> dict:
    """The KPI rows as fct_finops_kpis_monthly has them (values of the semantic layer's metrics)."""
    marts.require({"fct_finops_kpis_monthly": ("billing_period", "kpi_name", "value", "target", "status", "unit")})
    extra = ", ".join(f"k.{column}" if marts.has("fct_finops_kpis_monthly", column) else f"null as {column}"
                      for column in ("description", "status_label"))
    rows_ = rows(con, f"""
        select k.kpi_name, k.value, k.target, k.status, k.unit, p.value as prior_value, {extra}
        from {SCHEMA}.fct_finops_kpis_monthly k
        left join {SCHEMA}.fct_finops_kpis_monthly p on p.kpi_name = k.kpi_name and p.billing_period = ?
        where k.billing_period = ?
        order by case k.status when 'breach' then 0 when 'warn' then 1 else 2 end, k.kpi_name""",
        [prior, period])
    return {"rows": rows_, "by_name": {r["kpi_name"]: r for r in rows_}}


def maturity(con, marts: Marts, period: date, prior: date | None) -> dict:
    marts.require({"rpt_maturity_scorecard": ("billing_period", "capability", "level", "evidence")})
    return {"rows": rows(con, f"""
        select capability, level, evidence from {SCHEMA}.rpt_maturity_scorecard
        where billing_period = ? order by capability""", [period])}


def untagged_by_account(con, marts: Marts, period: date, prior: date | None) -> dict:
    """Untagged taggable cost to fix first, by account and service (fct_tag_coverage_monthly: the
    rows the KPI untagged_cost_pct counts), leaving out pools split as shared by design and
    negative rows; credits and refunds are listed apart, never as problems."""
    marts.require({"fct_tag_coverage_monthly": ("billing_period", "sub_account_id", "service_name",
                                                "charge_category", "tag_status", "is_shared_by_design",
                                                "effective_cost")})
    has_accounts = marts.has("dim_accounts", "account_id", "account_name", "default_team", "default_owner")
    names = ("a.account_name, a.default_team, a.default_owner" if has_accounts
             else "null as account_name, null as default_team, null as default_owner")
    join = f"left join {SCHEMA}.dim_accounts a on a.account_id = u.sub_account_id" if has_accounts else ""
    to_fix = rows(con, f"""
        with by_account_service as (
            select sub_account_id, service_name, sum(effective_cost) as untagged_cost
            from {SCHEMA}.fct_tag_coverage_monthly
            where billing_period = ? and tag_status = 'untagged' and not is_shared_by_design
            group by sub_account_id, service_name
        ),
        account_taggable as (
            select sub_account_id, sum(effective_cost) as taggable_cost
            from {SCHEMA}.fct_tag_coverage_monthly
            where billing_period = ? and tag_status <> 'not_taggable'
            group by sub_account_id
        )
        select u.sub_account_id as account_id, {names}, u.service_name, u.untagged_cost, t.taggable_cost,
               case when t.taggable_cost > 0 then 100.0 * u.untagged_cost / t.taggable_cost end as untagged_pct
        from by_account_service u
        left join account_taggable t on t.sub_account_id = u.sub_account_id
        {join}
        where u.untagged_cost > 0.005
        order by u.untagged_cost desc, u.sub_account_id, u.service_name""", [period, period])
    credits = rows(con, f"""
        select sub_account_id as account_id, charge_category, sum(effective_cost) as cost
        from {SCHEMA}.fct_tag_coverage_monthly
        where billing_period = ? and charge_category in ('Credit', 'Adjustment')
        group by sub_account_id, charge_category
        having sum(effective_cost) <> 0
        order by cost, account_id""", [period])
    return {"rows": to_fix, "credits": credits}


def kubernetes(con, marts: Marts, period: date, prior: date | None) -> dict:
    """EKS clusters (split cost allocation data): each cluster's idle share, and cost by namespace and team."""
    marts.require({"fct_kubernetes_cost_daily": ("billing_period", "cluster_name", "namespace", "team",
                                                 "split_cost", "idle_cost", "effective_cost")})
    clusters = rows(con, f"""
        select cluster_name, sum(effective_cost) as cluster_cost, sum(split_cost) as split_cost,
               sum(idle_cost) as idle_cost,
               case when sum(effective_cost) <> 0 then 100.0 * sum(idle_cost) / sum(effective_cost) end as idle_pct,
               (select case when sum(p.effective_cost) <> 0 then 100.0 * sum(p.idle_cost) / sum(p.effective_cost) end
                from {SCHEMA}.fct_kubernetes_cost_daily p
                where p.billing_period = ? and p.cluster_name = k.cluster_name) as prior_idle_pct
        from {SCHEMA}.fct_kubernetes_cost_daily k where billing_period = ?
        group by cluster_name order by cluster_cost desc, cluster_name""", [prior, period])
    namespaces = rows(con, f"""
        select cluster_name, namespace, team, sum(split_cost) as split_cost, sum(idle_cost) as idle_cost,
               sum(effective_cost) as total_cost
        from {SCHEMA}.fct_kubernetes_cost_daily where billing_period = ?
        group by cluster_name, namespace, team order by cluster_name, total_cost desc, namespace, team""", [period])
    return {"clusters": clusters, "rows": namespaces}


def shared_cost_paths(con, marts: Marts, period: date, prior: date | None, *, pools: int = 5,
                      rows_per_pool: int = 12) -> dict:
    """The largest shared pools of the period and, for each, the chain of pools through which its cost
    reached each team (fct_shared_cost_paths; amounts rounded to the cent by the warehouse)."""
    marts.require({"fct_shared_cost_paths": ("billing_period", "team", "origin_pool", "path", "hops", "share",
                                             "effective_cost_rounded")})
    largest = rows(con, f"""
        select origin_pool, sum(effective_cost_rounded) as pool_cost, count(distinct team) as teams,
               max(hops) as max_hops
        from {SCHEMA}.fct_shared_cost_paths where billing_period = ?
        group by origin_pool order by pool_cost desc, origin_pool limit ?""", [period, pools])
    for pool in largest:
        # share of the whole pool (a pool scoped per payer or environment is several nodes)
        pool["paths"] = rows(con, f"""
            select team, path, hops, sum(effective_cost_rounded) as cost,
                   case when ? <> 0 then sum(effective_cost_rounded) / ? end as share
            from {SCHEMA}.fct_shared_cost_paths where billing_period = ? and origin_pool = ?
            group by team, path, hops order by cost desc, team, path limit ?""",
                             [pool["pool_cost"], pool["pool_cost"], period, pool["origin_pool"], rows_per_pool])
    return {"pools": largest}


SECTIONS = [
    ("cost_trend", "Cost trend", cost_trend),
    ("showback", "Showback by team", showback),
    ("top_movers", "Top movers", top_movers),
    ("anomalies", "Cost anomalies and their owners", anomalies),
    ("budget", "Budget vs forecast", budget_forecast),
    ("commitments", "Commitment coverage and utilization", commitments),
    ("unit_costs", "Unit costs", unit_costs),
    ("kpis", "KPIs against targets", kpis),
    ("maturity", "Maturity scorecard", maturity),
    ("untagged", "Untagged spend to fix first", untagged_by_account),
    ("kubernetes", "Kubernetes: idle share per cluster, cost by namespace and team", kubernetes),
    ("shared_paths", "Shared pools: how their cost reached the teams", shared_cost_paths),
]


def optimize(con, marts: Marts, period: date, prior: date | None) -> dict:
    """Open opportunities of the period per team (top first), the organisation summary, the period's
    realized savings and the commitment curve (docs/optimize.md)."""
    marts.require({"fct_savings_opportunities": ("billing_period", "team", "kind", "resource_id", "sub_account_id",
                                                 "region_id", "monthly_cost", "estimated_monthly_saving",
                                                 "confidence", "evidence", "is_open", "decision")})
    open_rows = rows(con, f"""
        select team, kind, resource_id, sub_account_id, region_id, monthly_cost, estimated_monthly_saving,
               confidence, evidence
        from {SCHEMA}.fct_savings_opportunities where billing_period = ? and is_open
        order by estimated_monthly_saving desc, team, kind, resource_id""", [period])
    teams: dict[str, dict] = {}
    for r in open_rows:
        team = teams.setdefault(r["team"], {"team": r["team"], "saving": 0.0, "count": 0, "rows": []})
        team["saving"] += r["estimated_monthly_saving"]
        team["count"] += 1
        if len(team["rows"]) < OPTIMIZE_ROWS_PER_TEAM:
            team["rows"].append(r)
    by_kind = rows(con, f"""
        select kind, count(*) filter (where is_open) as open_count,
               sum(estimated_monthly_saving) filter (where is_open) as open_saving,
               count(*) filter (where decision is not null) as declined
        from {SCHEMA}.fct_savings_opportunities where billing_period = ? group by kind
        order by open_saving desc nulls last, kind""", [period])
    realized = []
    if marts.has("fct_realized_savings_monthly", "billing_period", "source", "kind", "realized_monthly_saving"):
        realized = rows(con, f"""
            select source, kind, count(*) as count, sum(realized_monthly_saving) as realized
            from {SCHEMA}.fct_realized_savings_monthly where billing_period = ? group by 1, 2
            order by realized desc""", [period])
    curve, optimum = [], []
    if marts.has("fct_commitment_purchase_recommendations", "lookback_days", "baseline", "hourly_commitment",
                 "expected_net_savings_monthly", "is_optimal"):
        optimum = rows(con, f"""
            select lookback_days, baseline, window_start, window_end, hourly_commitment, expected_coverage_pct,
                   expected_utilization_pct, expected_net_savings_monthly, discount_rate, discount_source,
                   is_approximation
            from {SCHEMA}.fct_commitment_purchase_recommendations where is_optimal order by 1, 2""")
        # the chart's window: 30 days when there, else the longest
        windows = sorted({r["lookback_days"] for r in optimum})
        shown = 30 if 30 in windows else (windows[-1] if windows else None)
        curve = rows(con, f"""
            select baseline, hourly_commitment, expected_net_savings_monthly
            from {SCHEMA}.fct_commitment_purchase_recommendations where lookback_days = ?
            order by baseline, hourly_commitment""", [shown]) if shown else []
        curve = {"lookback_days": shown, "points": curve}
    return {"teams": sorted(teams.values(), key=lambda t: -t["saving"]), "by_kind": by_kind,
            "open_saving": sum(t["saving"] for t in teams.values()), "open_count": len(open_rows),
            "realized": realized, "optimum": optimum, "curve": curve}


OPTIMIZE_ROWS_PER_TEAM = 10
SECTIONS.append(("optimize", "Optimize: savings opportunities per team", optimize))


def collect(con, period: date, prior: date | None) -> list[Section]:
    marts = Marts(con)
    sections = []
    for key, title, fn in SECTIONS:
        section = Section(key=key, title=title)
        try:
            section.data = fn(con, marts, period, prior)
        except MissingMart as exc:
            section.available, section.missing = False, [str(exc)]
        sections.append(section)
    return sections
