"""Alert routing: new cost anomalies and budget breaches go to the owning team's webhook.

Reads two marts (``marts.fct_cost_anomalies_daily``, ``marts.fct_budget_forecast_monthly``)
and the team directory (the ``teams`` seed, column ``webhook_url``) from the
warehouse, and posts one Slack-compatible JSON message per alert.

* Each alert has a stable id (what, when, team, service); a ledger under
  ``$FINOPS_DATA_DIR/alerts/`` records the ids already delivered, so re-running a
  build never sends the same alert twice.
* A failing webhook is retried with exponential backoff (bounded), then reported:
  it is *not* written to the ledger, so the next run tries again, and the Dagster
  asset shows it in its metadata and in a failing (WARN) asset check.
* A team without a webhook is reported the same way, never silently dropped.

The weekly savings digest (issue 19) goes the same way: one message per team and ISO week
listing the team's open opportunities (``marts.fct_savings_opportunities``), top first, with
the id ``savings_digest:<year>-W<week>:<team>`` in the same ledger, so a team hears about its
opportunities once a week however often the warehouse is built.
"""


import json
import logging
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb

log = logging.getLogger(__name__)

ANOMALIES_TABLE = ("marts", "fct_cost_anomalies_daily")
BUDGETS_TABLE = ("marts", "fct_budget_forecast_monthly")
TEAMS_TABLE = ("config", "teams")
OPPORTUNITIES_TABLE = ("marts", "fct_savings_opportunities")
DIGEST_TOP = 5  # opportunities listed per team in the weekly digest
LEDGER_FILE = "sent_alerts.sqlite"


def slack_escape(text: object) -> str:
    """Text from bills and seeds made safe for Slack mrkdwn: ``&``, ``<``, ``>`` as Slack documents.

    Without it a team or service named ``<!channel>`` or ``<http://evil|click>`` would be read
    as Slack control syntax. Only the ``<url|label>`` links built below are left unescaped.
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Alert:
    alert_id: str  # stable across runs: the ledger key
    kind: str  # anomaly | budget_breach
    team: str
    service_name: str | None
    when: str  # charge date (anomaly) or billing period (budget)
    actual_cost: float
    expected_cost: float
    severity: str | None
    webhook_url: str | None
    asset_url: str
    details: dict = field(default_factory=dict, compare=False)

    def payload(self) -> dict:
        """A Slack-compatible incoming-webhook message (``text`` plus ``blocks``).

        Every piece of user text (team, service, period, severity) is escaped for mrkdwn with
        :func:`slack_escape`; the header is ``plain_text``, which Slack shows literally.
        """
        team, service, when = self.team, self.service_name, self.when
        if self.kind == "savings_digest":
            return self._digest_payload()
        if self.kind == "anomaly":
            title = f"Cost anomaly for team {team}: {service} on {when}"
            comparison = "expected"
        else:
            title = f"Budget breach forecast for team {team} in {when}"
            comparison = "budget"
        delta = self.actual_cost - self.expected_cost
        summary = (f"{slack_escape(title)}: actual {self.actual_cost:,.2f} vs {comparison} {self.expected_cost:,.2f} "
                   f"({'+' if delta >= 0 else ''}{delta:,.2f})")
        fields = [f"*Team:* {slack_escape(team)}", f"*Service:* {slack_escape(service or 'all services')}",
                  f"*Actual:* {self.actual_cost:,.2f}", f"*{comparison.capitalize()}:* {self.expected_cost:,.2f}"]
        if self.severity:
            fields.append(f"*Severity:* {slack_escape(self.severity)}")
        return {
            "text": f"{summary} {_link(self.asset_url, 'open in Dagster')}",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
                {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
                {"type": "section", "text": {"type": "mrkdwn",
                                             "text": _link(self.asset_url, "View the asset in Dagster")}},
            ],
        }


    def _digest_payload(self) -> dict:
        """The weekly digest: the team's open savings, then its top opportunities with their evidence."""
        title = f"Savings opportunities for team {self.team} ({self.when})"
        count, period = self.details["open_count"], self.details["billing_period"]
        summary = (f"{slack_escape(title)}: {count} open, {self.actual_cost:,.2f} {slack_escape(self.details['currency'])}"
                   f" a month to save (billing period {slack_escape(period)})")
        lines = [f"• *{r['estimated_monthly_saving']:,.2f}* {slack_escape(r['kind'])} `{slack_escape(r['resource_id'])}`"
                 f" ({slack_escape(r['confidence'])}): {slack_escape(r['evidence'])}" for r in self.details["top"]]
        return {
            "text": f"{summary} {_link(self.asset_url, 'open in Dagster')}",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}},
                {"type": "section", "text": {"type": "mrkdwn",
                                             "text": _link(self.asset_url, "View the opportunities in Dagster")}},
            ],
        }


def _link(url: str, label: str) -> str:
    """Slack link syntax ``<url|label>``: the label is escaped; the URL is ours (FINOPS_DAGSTER_URL)."""
    return f"<{url}|{slack_escape(label)}>"


@dataclass
class Delivery:
    alert: Alert
    status: str  # sent | already_sent | failed | no_channel
    attempts: int = 0
    error: str | None = None

    def as_metadata(self) -> dict:
        return {"alert_id": self.alert.alert_id, "team": self.alert.team, "status": self.status,
                "attempts": self.attempts, "error": self.error}


@dataclass
class RoutingReport:
    deliveries: list[Delivery]
    missing_tables: list[str]

    def count(self, status: str) -> int:
        return sum(d.status == status for d in self.deliveries)

    @property
    def undelivered(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status in ("failed", "no_channel")]


# --------------------------------------------------------------------------------------------
# Reading the alerts
# --------------------------------------------------------------------------------------------

def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, table]).fetchone()[0])


def _asset_url(dagster_url: str, table: tuple[str, str]) -> str:
    return f"{dagster_url.rstrip('/')}/assets/{table[0]}/{table[1]}"


def collect_alerts(warehouse_path: Path, dagster_url: str) -> tuple[list[Alert], list[str]]:
    """Every current alert in the warehouse, and the source tables not built yet."""
    if not Path(warehouse_path).exists():
        return [], [".".join(t) for t in (ANOMALIES_TABLE, BUDGETS_TABLE, TEAMS_TABLE)]
    alerts: list[Alert] = []
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        missing = [".".join(t) for t in (ANOMALIES_TABLE, BUDGETS_TABLE, TEAMS_TABLE) if not _table_exists(con, *t)]
        has_webhooks = (".".join(TEAMS_TABLE) not in missing and "webhook_url" in
                        {r[0] for r in con.execute("describe config.teams").fetchall()})
        webhooks = ("(select team, any_value(nullif(trim(webhook_url), '')) as webhook_url from config.teams "
                    "group by team)" if has_webhooks else "(select null::varchar as team, null::varchar as webhook_url)")
        if ".".join(ANOMALIES_TABLE) not in missing:
            rows = con.execute(f"""
                select strftime(a.charge_date, '%Y-%m-%d'), a.team, a.service_name, a.actual_cost, a.expected_cost,
                       a.lower_bound, a.upper_bound, a.score, a.severity, a.owner, a.alert_channel, w.webhook_url
                from marts.fct_cost_anomalies_daily a left join {webhooks} w on a.team = w.team
                order by 1, 2, 3""").fetchall()
            url = _asset_url(dagster_url, ANOMALIES_TABLE)
            for (day, team, service, actual, expected, low, high, score, severity, owner, channel, hook) in rows:
                alerts.append(Alert(
                    alert_id=f"anomaly:{day}:{team}:{service}", kind="anomaly", team=team, service_name=service,
                    when=day, actual_cost=float(actual), expected_cost=float(expected), severity=severity,
                    webhook_url=hook, asset_url=url,
                    details={"lower_bound": low, "upper_bound": high, "score": score, "owner": owner,
                             "alert_channel": channel}))
        if ".".join(BUDGETS_TABLE) not in missing:
            rows = con.execute(f"""
                select strftime(b.billing_period, '%Y-%m'), b.team, b.forecast_cost, b.budget, b.projected_variance,
                       w.webhook_url
                from marts.fct_budget_forecast_monthly b left join {webhooks} w on b.team = w.team
                where b.is_over_budget  -- the budget KPI counts the same flag
                order by 1, 2""").fetchall()
            url = _asset_url(dagster_url, BUDGETS_TABLE)
            for period, team, forecast, budget, variance, hook in rows:
                alerts.append(Alert(
                    alert_id=f"budget_breach:{period}:{team}", kind="budget_breach", team=team, service_name=None,
                    when=period, actual_cost=float(forecast), expected_cost=float(budget), severity="breach",
                    webhook_url=hook, asset_url=url, details={"projected_variance": variance}))
    return alerts, missing


def _webhooks_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The team → webhook_url relation of the teams seed (none when the seed has no such column)."""
    if _table_exists(con, *TEAMS_TABLE) and "webhook_url" in {r[0] for r in con.execute("describe config.teams").fetchall()}:
        return ("(select team, any_value(nullif(trim(webhook_url), '')) as webhook_url from config.teams "
                "group by team)")
    return "(select null::varchar as team, null::varchar as webhook_url)"


def collect_savings_digests(warehouse_path: Path, dagster_url: str, today: date | None = None
                            ) -> tuple[list[Alert], list[str]]:
    """One digest per team with open opportunities in the newest billing period, for this ISO week."""
    table = ".".join(OPPORTUNITIES_TABLE)
    if not Path(warehouse_path).exists():
        return [], [table]
    year, week, _ = (today or datetime.now(timezone.utc).date()).isocalendar()
    when = f"week {year}-W{week:02d}"
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        if not _table_exists(con, *OPPORTUNITIES_TABLE):
            return [], [table]
        opportunities = con.execute(f"""
            select o.team, strftime(o.billing_period, '%Y-%m'), o.kind, o.resource_id, o.estimated_monthly_saving,
                   o.confidence, o.evidence, o.billing_currency, w.webhook_url
            from marts.fct_savings_opportunities o left join {_webhooks_sql(con)} w on o.team = w.team
            where o.is_open and o.billing_period = (select max(billing_period) from marts.fct_savings_opportunities)
            order by o.team, o.estimated_monthly_saving desc, o.kind, o.resource_id""").fetchall()
    by_team: dict[str, list[tuple]] = {}
    for row in opportunities:
        by_team.setdefault(row[0], []).append(row)
    url = _asset_url(dagster_url, OPPORTUNITIES_TABLE)
    digests = []
    for team, team_rows in by_team.items():
        digests.append(Alert(
            alert_id=f"savings_digest:{year}-W{week:02d}:{team}", kind="savings_digest", team=team, service_name=None,
            when=when, actual_cost=float(sum(r[4] for r in team_rows)), expected_cost=0.0, severity=None,
            webhook_url=team_rows[0][8], asset_url=url,
            details={"open_count": len(team_rows), "billing_period": team_rows[0][1], "currency": team_rows[0][7],
                     "top": [{"kind": r[2], "resource_id": r[3], "estimated_monthly_saving": float(r[4]),
                              "confidence": r[5], "evidence": r[6]} for r in team_rows[:DIGEST_TOP]]}))
    return digests, []


# --------------------------------------------------------------------------------------------
# The ledger of delivered alerts
# --------------------------------------------------------------------------------------------

class Ledger:
    """Alert ids already delivered (sqlite: safe when two runs route at once)."""

    def __init__(self, alerts_dir: Path):
        alerts_dir.mkdir(parents=True, exist_ok=True)
        self.path = alerts_dir / LEDGER_FILE
        self._con = sqlite3.connect(self.path, timeout=30)
        self._con.execute("create table if not exists sent_alerts (alert_id text primary key, team text, "
                          "webhook_host text, sent_at text, payload text)")

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self._con.close()

    def already_sent(self, alert_id: str) -> bool:
        return self._con.execute("select 1 from sent_alerts where alert_id = ?", [alert_id]).fetchone() is not None

    def record(self, alert: Alert) -> None:
        host = urllib.request.urlparse(alert.webhook_url).netloc if alert.webhook_url else None
        with self._con:
            self._con.execute("insert or ignore into sent_alerts values (?, ?, ?, ?, ?)",
                              [alert.alert_id, alert.team, host, datetime.now(timezone.utc).isoformat(),
                               json.dumps(alert.payload())])


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------

def post_json(url: str, payload: dict, timeout: float = 10.0) -> None:
    """POST ``payload``; raises on a non-2xx answer or a connection error."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(url, response.status, response.reason, response.headers, None)


def send_with_retry(alert: Alert, *, attempts: int, backoff_s: float,
                    post: Callable[[str, dict], None] = post_json,
                    sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Up to ``attempts`` tries, waiting backoff_s, 2×, 4×… between them."""
    error = None
    for attempt in range(1, attempts + 1):
        try:
            post(alert.webhook_url, alert.payload())
            return Delivery(alert, "sent", attempts=attempt)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            # per attempt: the run log's detail; the outcome is counted in summary_line()
            log.info("alert %s to team %s: attempt %d/%d failed: %s", alert.alert_id, alert.team,
                     attempt, attempts, error)
            if attempt < attempts:
                sleep(backoff_s * 2 ** (attempt - 1))
    return Delivery(alert, "failed", attempts=attempts, error=error)


def route_alerts(warehouse_path: Path, alerts_dir: Path, *, dagster_url: str, attempts: int = 4,
                 backoff_s: float = 1.0, post: Callable[[str, dict], None] = post_json) -> RoutingReport:
    """Send every alert not yet delivered to its team's webhook; record the ones delivered."""
    alerts, missing = collect_alerts(warehouse_path, dagster_url)
    return _deliver(alerts, missing, alerts_dir, attempts=attempts, backoff_s=backoff_s, post=post)


def route_savings_digests(warehouse_path: Path, alerts_dir: Path, *, dagster_url: str, attempts: int = 4,
                          backoff_s: float = 1.0, post: Callable[[str, dict], None] = post_json,
                          today: date | None = None) -> RoutingReport:
    """Send each team its weekly savings digest, once per ISO week (same ledger as the alerts)."""
    digests, missing = collect_savings_digests(warehouse_path, dagster_url, today)
    return _deliver(digests, missing, alerts_dir, attempts=attempts, backoff_s=backoff_s, post=post)


def _deliver(alerts: list[Alert], missing: list[str], alerts_dir: Path, *, attempts: int, backoff_s: float,
             post: Callable[[str, dict], None]) -> RoutingReport:
    """Send every alert not yet in the ledger to its team's webhook; record the ones delivered."""
    deliveries = []
    with Ledger(alerts_dir) as ledger:
        for alert in alerts:
            if ledger.already_sent(alert.alert_id):
                deliveries.append(Delivery(alert, "already_sent"))
                continue
            if not alert.webhook_url:
                log.info("alert %s: team %s has no webhook_url in the teams seed; not delivered",
                         alert.alert_id, alert.team)
                deliveries.append(Delivery(alert, "no_channel", error=f"team {alert.team} has no webhook_url"))
                continue
            delivery = send_with_retry(alert, attempts=attempts, backoff_s=backoff_s, post=post)
            if delivery.status == "sent":
                ledger.record(alert)
            else:
                log.info("alert %s to team %s not delivered after %d attempts: %s", alert.alert_id, alert.team,
                         delivery.attempts, delivery.error)
            deliveries.append(delivery)
    return RoutingReport(deliveries, missing)


def summary_line(report: RoutingReport) -> str:
    """One line for the terminal: 'alerts: 25 new, 0 delivered — no webhook configured for 12 teams; see …'.

    The per-alert detail (ids, teams, errors) is in the Dagster run log and the asset's
    metadata; a person at the terminal needs the counts and where to look.
    """
    new = len(report.deliveries) - report.count("already_sent")
    line = f"alerts: {new} new, {report.count('sent')} delivered"
    concerns = []
    unrouted = {d.alert.team for d in report.deliveries if d.status == "no_channel"}
    if unrouted:
        concerns.append(f"no webhook configured for {len(unrouted)} team{'s' if len(unrouted) != 1 else ''}")
    failing = {d.alert.team for d in report.deliveries if d.status == "failed"}
    if failing:
        concerns.append(f"{report.count('failed')} failed after retries (webhook of "
                        f"{len(failing)} team{'s' if len(failing) != 1 else ''})")
    if concerns:
        line += " — " + "; ".join(concerns) + "; see docs/operations.md#alerting"
    return line


# --------------------------------------------------------------------------------------------
# Dagster
# --------------------------------------------------------------------------------------------

ALERTS_ASSET_KEY = ("alerts", "cost_alerts")


def build_alerts_asset():
    """The `alerts` group: one asset downstream of the anomaly and budget marts, with a delivery check."""
    from orchestration.settings import Settings

    key = dg.AssetKey(list(ALERTS_ASSET_KEY))

    @dg.asset(key=key, group_name="alerts", compute_kind="python",
              deps=[dg.AssetKey(list(ANOMALIES_TABLE)), dg.AssetKey(list(BUDGETS_TABLE))],
              check_specs=[dg.AssetCheckSpec("all_alerts_delivered", asset=key,
                                             description="Every new anomaly and budget breach reached its team's "
                                                         "webhook (WARN: retried on the next run).")],
              required_resource_keys={"finops"},
              description="Posts new cost anomalies and budget breaches to the owning team's webhook "
                          "(teams seed, webhook_url); a ledger under $FINOPS_DATA_DIR/alerts/ prevents repeats.")
    def cost_alerts(context: dg.AssetExecutionContext):
        settings = Settings.from_env()
        data_dir = Path(context.resources.finops.data_dir)
        report = route_alerts(data_dir / "warehouse.duckdb", data_dir / "alerts", dagster_url=settings.dagster_url,
                              attempts=settings.alert_attempts)
        undelivered = report.undelivered
        # The detail per alert goes to the run log (the Dagster UI shows it); the terminal of
        # `finops build` prints summary_line() from this asset's metadata instead.
        for delivery in undelivered:
            context.log.info(f"alert {delivery.alert.alert_id} for team {delivery.alert.team} not delivered: "
                             f"{delivery.error}")
        unrouted = sorted({d.alert.team for d in undelivered if d.status == "no_channel"})
        if unrouted:
            context.log.info(f"{report.count('no_channel')} alert(s) not delivered: no webhook_url in "
                             f"seeds/teams.csv for team(s) {', '.join(unrouted)}")
        yield dg.MaterializeResult(metadata={
            "summary": summary_line(report),
            "sent": report.count("sent"), "already_sent": report.count("already_sent"),
            "failed": report.count("failed"), "no_channel": report.count("no_channel"),
            "tables_not_built": ", ".join(report.missing_tables) or "none",
            "deliveries": dg.MetadataValue.json([d.as_metadata() for d in report.deliveries if d.status != "already_sent"]),
        })
        yield dg.AssetCheckResult(
            check_name="all_alerts_delivered", passed=not undelivered, severity=dg.AssetCheckSeverity.WARN,
            description=("all alerts delivered" if not undelivered else
                         "; ".join(f"{d.alert.alert_id} ({d.alert.team}): {d.error}" for d in undelivered[:10])),
            metadata={"undelivered": dg.MetadataValue.json([d.as_metadata() for d in undelivered])})

    return cost_alerts
