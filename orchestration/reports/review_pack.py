"""The monthly cost review pack: one self-contained HTML file for the monthly review ritual.

Reads the *published* warehouse (``$FINOPS_DATA_DIR/published/finops.duckdb``), never the
build file, so it can run while a build does. Charts are inline SVG drawn here; the page
loads nothing from the network and opens offline from a file or an e-mail attachment.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import jinja2
import markupsafe

from orchestration.ingestion.conform import quote_literal
from orchestration.publish import SCHEMA, published_path
from orchestration.reports import charts, queries

TEMPLATE_DIR = Path(__file__).with_name("templates")
REPORTS_FOLDER = "reports"
TOP_TEAMS_IN_TREND = 8
# Charts are drawn at these widths (CSS px) and laid out in grids whose columns are at least as
# wide (review_pack.css), so their text is never scaled below its 13 px.
CHART_W_HALF = 500  # two side by side on A4 landscape (1032 px wide)
CHART_W_SMALL = 360


class ReportError(Exception):
    """The pack cannot be written (nothing published, or an unknown billing period)."""


@dataclass(frozen=True)
class ReviewPack:
    path: Path
    period: str
    sections: list[str]
    unavailable: list[str]
    currency: str = "USD"
    # the packs of the period's other billing currencies (money in two currencies is never added up)
    others: tuple[Path, ...] = ()


def report_path(data_dir: Path | str, period: str, currency: str | None = None) -> Path:
    """The pack of ``period``; with ``currency``, that currency's pack of a bill billed in several."""
    suffix = f"-{currency}" if currency else ""
    return Path(data_dir) / REPORTS_FOLDER / f"finops-review-{period}{suffix}.html"


def latest_report(data_dir: Path | str) -> Path | None:
    """The review pack written last, if any."""
    packs = list((Path(data_dir) / REPORTS_FOLDER).glob("finops-review-*.html"))
    return max(packs, key=lambda p: p.stat().st_mtime) if packs else None


def _open_published(data_dir: Path | str, currency: str | None = None) -> duckdb.DuckDBPyConnection:
    path = published_path(data_dir)
    if not path.exists():
        raise ReportError(f"{path}: nothing is published yet; run `finops build` first")
    # ATTACH (not connect(path)): DuckDB caches open databases per path within a process, so
    # a connection made by path could return an instance still reading a previous publication.
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS published (READ_ONLY)")
    if currency is None:
        con.execute("USE published")
        return con
    # One currency's pack: views named like the marts, over the published marts' rows in that
    # currency (tables without a currency pass through). The queries read `marts.<table>` as
    # always; nothing in them can add up two currencies.
    con.execute(f"CREATE SCHEMA memory.{SCHEMA}")
    tables = con.execute("""select table_name, bool_or(column_name = 'billing_currency')
                            from information_schema.columns where table_catalog = 'published'
                            and table_schema = ? group by 1""", [SCHEMA]).fetchall()
    for table, has_currency in tables:
        where = f" where billing_currency = {quote_literal(currency)}" if has_currency else ""
        con.execute(f'CREATE VIEW memory.{SCHEMA}."{table}" AS SELECT * FROM published.{SCHEMA}."{table}"{where}')
    con.execute("USE memory")
    return con


def default_period(available: list[date], today: date | None = None) -> date:
    """The latest billing period that has closed (before the current month); else the latest one."""
    today = today or datetime.now(timezone.utc).date()
    closed = [p for p in available if p < today.replace(day=1)]
    return max(closed or available)


def write_review_pack(data_dir: Path | str, period: str | None = None, *, today: date | None = None) -> ReviewPack:
    """Write ``$FINOPS_DATA_DIR/reports/finops-review-YYYY-MM.html`` for ``period`` (default: last closed).

    A bill with payers in several currencies gets one pack per currency,
    ``finops-review-YYYY-MM-<currency>.html``, each naming the others: no figure of a pack
    adds up money of two currencies. Returns the first; ``others`` are the rest."""
    con = _open_published(data_dir)
    try:
        marts = queries.Marts(con)
        available = queries.periods(con, marts)
        if not available:
            raise ReportError(f"{published_path(data_dir)}: the published marts hold no billing period")
        if period is None:
            chosen = default_period(available, today)
        else:
            if not re.fullmatch(r"\d{4}-\d{2}", period):
                raise ReportError(f"--period {period!r}: expected YYYY-MM")
            chosen = date(int(period[:4]), int(period[5:]), 1)
            if chosen not in available:
                raise ReportError(f"billing period {period} is not in the published warehouse (published: "
                                  f"{', '.join(p.strftime('%Y-%m') for p in available)})")
        currencies = queries.currencies(con, marts, chosen)
    finally:
        con.close()
    ym = chosen.strftime("%Y-%m")
    paths = {c: report_path(data_dir, ym, c if len(currencies) > 1 else None) for c in currencies}
    packs = []
    for currency in currencies:
        con = _open_published(data_dir, currency)
        try:
            marts = queries.Marts(con)
            prior = max((p for p in available if p < chosen), default=None)
            sections = queries.collect(con, chosen, prior)
            meta = queries.publication(con) if marts.has("_published") else {}
        finally:
            con.close()
        others = [(c, paths[c].name) for c in currencies if c != currency]
        html = render(sections, period=chosen, prior=prior, available=available, publication=meta,
                      currency=currency, other_currencies=others)
        out = paths[currency]
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(out)
        packs.append(ReviewPack(path=out, period=ym, sections=[s.key for s in sections],
                                unavailable=[s.key for s in sections if not s.available], currency=currency))
    first = packs[0]
    return ReviewPack(first.path, first.period, first.sections, first.unavailable, first.currency,
                      tuple(p.path for p in packs[1:]))


# --- charts from section data ------------------------------------------------------------------------

def _ym(d: date) -> str:
    return d.strftime("%Y-%m")


def _charts(sections: dict[str, queries.Section], currency: str) -> dict[str, str]:
    out: dict[str, str] = {}
    trend = sections["cost_trend"]
    if trend.available and trend.data["daily"]:
        daily = trend.data["daily"]
        out["daily"] = charts.line_chart(
            [r["charge_date"].strftime("%m-%d") for r in daily],
            # billed first, so the effective line (the one the pack talks about) is drawn on top of it
            {"billed cost": [r["billed_cost"] for r in daily],
             "effective (amortized) cost": [r["effective_cost"] for r in daily]},
            title="Daily cost", unit=f"{currency} per day", width=CHART_W_HALF, clip_spikes=True,
            colours={"billed cost": charts.PALETTE[1], "effective (amortized) cost": charts.PALETTE[0]})
        team_rows = trend.data["teams"]
        labels = sorted({r["billing_period"] for r in team_rows})
        totals = defaultdict(float)
        for r in team_rows:
            totals[r["team"]] += r["total_cost"] or 0
        top = [t for t, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:TOP_TEAMS_IN_TREND]]
        series: dict[str, list[float | None]] = {t: [None] * len(labels) for t in top}
        others = [0.0] * len(labels)
        for r in team_rows:
            i = labels.index(r["billing_period"])
            if r["team"] in series:
                series[r["team"]][i] = r["total_cost"]
            else:
                others[i] += r["total_cost"] or 0
        if len(totals) > len(top):
            series["other teams"] = others
        out["teams"] = charts.line_chart([_ym(p) for p in labels], series, title="Monthly cost per team",
                                         unit=f"{currency} per month, effective", width=CHART_W_HALF,
                                         colours={"other teams": charts.OTHER})
    movers = sections["top_movers"]
    if movers.available and movers.data["rows"]:
        out["movers"] = charts.hbar_chart(
            [(f'{r["team"]} · {r["service_name"]}', r["change"]) for r in movers.data["rows"]],
            title="Largest changes from the previous month", unit=f"{currency}, increase or decrease",
            colour=charts.PALETTE[3], negative_colour=charts.PALETTE[2])
    budget = sections["budget"]
    if budget.available and budget.data["rows"]:
        out["budget"] = charts.range_chart(
            [{"label": r["team"], "forecast": r["forecast_cost"], "low": r["forecast_low"],
              "high": r["forecast_high"], "budget": r["budget"], "actual": r["month_to_date_cost"]}
             for r in budget.data["rows"]],
            title="Forecast vs budget per team", unit=f"{currency} for the month", currency=currency)
    commit = sections["commitments"]
    if commit.available and commit.data["trend"]:
        labels = sorted({r["billing_period"] for r in commit.data["trend"]})
        series = {}
        for r in commit.data["trend"]:
            for measure in ("coverage_pct", "utilization_pct"):
                name = f'{r["commitment_type"]} {measure.split("_")[0]}'
                series.setdefault(name, [None] * len(labels))[labels.index(r["billing_period"])] = r[measure]
        # colour = the commitment type, dashed = utilization: two lines near 95 % stay apart
        colour_of = {kind: charts.PALETTE[i % len(charts.PALETTE)]
                     for i, kind in enumerate(sorted({r["commitment_type"] for r in commit.data["trend"]}))}
        out["commitments"] = charts.line_chart([_ym(p) for p in labels], series,
                                               colours={n: colour_of[n.rsplit(" ", 1)[0]] for n in series},
                                               dashed={n for n in series if n.endswith("utilization")},
                                               title="Commitment coverage and utilization per month",
                                               unit="% of eligible usage / of the commitment",
                                               value_format=lambda v: f"{v:.0f}%")
        targets = commit.data["targets"]
        for r in commit.data["rows"]:
            r["coverage_meter"] = charts.meter(r["coverage_pct"], targets.get("commitment_coverage_pct"),
                                               title=f'{r["commitment_type"]} coverage')
            r["utilization_meter"] = charts.meter(r["utilization_pct"], targets.get("commitment_utilization_pct"),
                                                  title=f'{r["commitment_type"]} utilization',
                                                  colour=charts.PALETTE[2])
    units = sections["unit_costs"]
    if units.available and units.data["trend"]:
        by_metric: dict[str, dict[str, dict[date, float]]] = defaultdict(lambda: defaultdict(dict))
        for r in units.data["trend"]:
            by_metric[r["unit_metric"]][r["scope"]][r["billing_period"]] = r["cost_per_unit"]
        labels = sorted({r["billing_period"] for r in units.data["trend"]})
        out["units"] = {}
        for metric, scopes in sorted(by_metric.items()):
            out["units"][metric] = charts.line_chart(
                [_ym(p) for p in labels], {s: [vals.get(p) for p in labels] for s, vals in sorted(scopes.items())},
                title=metric, unit=f"{currency} per unit", width=CHART_W_SMALL, height=200,
                value_format=lambda v: f"{v:.4g}")
    untagged = sections["untagged"]
    if untagged.available and untagged.data["rows"]:
        out["untagged"] = charts.hbar_chart(
            [(f'{r["account_name"] or r["account_id"]} · {r["service_name"]}', r["untagged_cost"])
             for r in untagged.data["rows"][:12]],
            title="Untagged taggable cost by account and service (top 12)", unit=currency, colour=charts.PALETTE[1])
    optimize = sections.get("optimize")
    if optimize is not None and optimize.available and optimize.data["curve"] and optimize.data["curve"]["points"]:
        out["commitment_curve"] = _commitment_curve_chart(optimize.data["curve"], currency)
    return out


CURVE_STEPS = 20


def _commitment_curve_chart(curve: dict, currency: str) -> str:
    """Net savings per month against the hourly commitment, as billed and right-sized, on one grid.

    Each curve is piecewise linear between its points (fct_commitment_purchase_recommendations);
    beyond its last point every extra dollar of commitment per hour is lost (−730 a month)."""
    by_baseline: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in curve["points"]:
        by_baseline[r["baseline"]].append((r["hourly_commitment"], r["expected_net_savings_monthly"]))
    top = max(c for points in by_baseline.values() for c, _ in points) or 1.0
    grid = [top * i / CURVE_STEPS for i in range(CURVE_STEPS + 1)]

    def at(points: list[tuple[float, float]], c: float) -> float:
        for (c0, v0), (c1, v1) in zip(points, points[1:]):
            if c0 <= c <= c1:
                return v0 + (v1 - v0) * (c - c0) / (c1 - c0) if c1 > c0 else v0
        last_c, last_v = points[-1]
        return last_v - 730 * (c - last_c)

    names = {"as_is": "as billed", "right_sized": "right-sized first"}
    return charts.line_chart([f"{c:.2f}" for c in grid],
                             {names.get(b, b): [at(sorted(p), c) for c in grid] for b, p in sorted(by_baseline.items())},
                             title=f"Savings Plan: net savings by hourly commitment ({curve['lookback_days']}-day lookback)",
                             unit=f"{currency} per month; x: commitment, {currency} per hour")


def _money(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _pct(value, digits: int = 1, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}%" if signed else f"{value:.{digits}f}%"


def _number(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and abs(value) < 10:
        return f"{value:,.4g}"
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def content_security_policy(script: str) -> str:
    """The pack's CSP: nothing loaded from anywhere, inline styles, and only *our* inline script.

    The sort script is allowed by its SHA-256, so any other ``<script>`` or ``on…=`` handler
    that slipped into the page (text from a bill) would not run even if escaping failed.
    (``frame-ancestors`` is not allowed in a ``<meta>`` CSP, so it is left out.)
    """
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")


def render(sections: list[queries.Section], *, period: date, prior: date | None, available: list[date],
           publication: dict, currency: str, other_currencies: list[tuple[str, str]] = ()) -> str:
    # Always escape: tag values and account names come from bills (select_autoescape(["html"])
    # did not match the .html.j2 name, so they were rendered raw).
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=_money, pct=_pct, number=_number)
    by_key = {s.key: s for s in sections}
    svg = _charts(by_key, currency)
    headline = dict.fromkeys(("effective", "billed", "prior", "change_pct"))
    if by_key["cost_trend"].available:
        monthly = {r["billing_period"]: r for r in by_key["cost_trend"].data["monthly"]}
        current = monthly.get(period, {})
        before = monthly.get(prior, {}) if prior else {}
        headline.update({"effective": current.get("effective_cost"), "billed": current.get("billed_cost"),
                    "prior": before.get("effective_cost"),
                    "change_pct": (100.0 * (current["effective_cost"] - before["effective_cost"])
                                   / abs(before["effective_cost"])
                                   if current.get("effective_cost") is not None and before.get("effective_cost")
                                   else None)})
    # The KPI cards show the KPI rows themselves (fct_finops_kpis_monthly): one number per measure.
    kpi_rows = by_key["kpis"].data.get("by_name", {}) if by_key["kpis"].available else {}
    headline["kpis"] = {name: kpi_rows.get(name) for name in
                        ("untagged_cost_pct", "shared_cost_pct", "teams_over_budget", "anomaly_count")}
    template = env.get_template("review_pack.html.j2")
    script = (TEMPLATE_DIR / "review_pack.js").read_text(encoding="utf-8")
    return template.render(
        period=_ym(period), prior=_ym(prior) if prior else None, periods=[_ym(p) for p in available],
        sections=by_key, order=[s.key for s in sections], charts=svg, currency=currency, headline=headline,
        other_currencies=list(other_currencies),
        publication=publication, generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        status_class={"ok": "ok", "warn": "warn", "breach": "breach"},
        css=(TEMPLATE_DIR / "review_pack.css").read_text(encoding="utf-8"), script=script,
        csp=markupsafe.Markup(content_security_policy(script)))  # ours, no user text: quotes stay readable
