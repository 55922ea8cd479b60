"""Optimize on the demo organisation (issue 19): the waste of orchestration/sample_data/optimize_waste.py
found with an owner, counted once, partly fixed in the third month (realized), and shown in the
review pack; and the weekly savings digest through the alert routing.

One small generated organisation (3 months, 6,000 line items a month plus the waste), landed by the
loader and built with dbt (every model), published, and rendered as the review pack.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import duckdb
import pytest

from orchestration.alerts import route_savings_digests
from orchestration.ingestion.landing import load_exports
from orchestration.publish import publish_marts
from orchestration.reports.review_pack import write_review_pack
from orchestration.sample_data import organisation as org
from orchestration.sample_data import write_sample_exports
from orchestration.sample_data.optimize_waste import RESOURCE_IDS
from orchestration.settings import DBT_PROJECT_DIR, Settings
from tests.test_alerts import DAGSTER_URL, webhook  # noqa: F401  (the local webhook server fixture)
from tests.test_allocation import dbt_build

PERIODS = ["2026-08", "2026-09", "2026-10"]
KINDS = {"ebs_gp2_to_gp3", "ebs_io1_to_gp3", "previous_generation_instance", "idle_public_ipv4", "idle_nat_gateway",
         "idle_load_balancer", "old_snapshot", "s3_intelligent_tiering", "steady_on_demand_compute"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("optimize-demo")
    exports = tmp_path / "exports"
    write_sample_exports(exports, periods=PERIODS, rows_per_period=6000, seed=7, optimize_waste=True)
    settings = dataclasses.replace(Settings.from_env(), data_dir=tmp_path / "data", export_uri=str(exports),
                                   duckdb_threads=2)
    load_exports(str(exports), settings.landing_dir)
    dbt_build(DBT_PROJECT_DIR, settings.data_dir, tmp_path / "target", ["fqn:*"])
    publish_marts(settings.warehouse_path, settings.data_dir, full=True)
    pack = write_review_pack(settings.data_dir, PERIODS[-1])
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        yield con, pack, settings


def test_every_kind_appears_and_every_opportunity_has_an_owner_team(demo):
    con, _, _ = demo
    kinds = {k for (k,) in con.execute("select distinct kind from marts.fct_savings_opportunities").fetchall()}
    assert kinds == KINDS
    teams = {t for (t,) in con.execute("select distinct team from marts.fct_savings_opportunities").fetchall()}
    assert teams <= {t.name for t in org.TEAMS}  # never 'unallocated'
    owners = dict(con.execute("""select resource_id, team from marts.fct_savings_opportunities
                                 where billing_period = '2026-10-01'""").fetchall())
    assert owners[RESOURCE_IDS["m4"](0)] == "search" and owners[RESOURCE_IDS["nat"](0)] == "mobile-api"
    assert owners[RESOURCE_IDS["gp2"](0)] == "checkout" and owners[RESOURCE_IDS["steady"](0)] == "identity"


def test_no_resource_is_counted_twice(demo):
    con, _, _ = demo
    (twice,) = con.execute("""select count(*) from (select billing_period, resource_id from marts.fct_savings_opportunities
                              where not is_overlapping group by 1, 2 having count(*) > 1)""").fetchone()
    assert twice == 0
    (open_total, by_resource) = con.execute("""
        select sum(estimated_monthly_saving) filter (where is_open),
               (select sum(s) from (select max(estimated_monthly_saving) filter (where decision is null) as s
                                    from marts.fct_savings_opportunities group by billing_period, resource_id))
        from marts.fct_savings_opportunities""").fetchone()
    assert open_total == pytest.approx(by_resource, abs=1e-6)


def test_the_third_month_fixes_show_as_realized_savings(demo):
    con, _, _ = demo
    realized = {r: (k, round(s, 2)) for k, r, s in con.execute("""
        select kind, resource_id, realized_monthly_saving from marts.fct_realized_savings_monthly
        where billing_period = '2026-10-01' and source = 'opportunity'""").fetchall()}
    # a 350 GB gp2 volume at $0.10 is 350 GB-month of gp3 at $0.08: 35.00 - 28.00
    assert realized[RESOURCE_IDS["gp2"](1)] == ("ebs_gp2_to_gp3", 7.00)
    # an m4.large, 16 h a day, moved to m5.large: 496 h in October x (0.10 - 0.096)
    assert realized[RESOURCE_IDS["m4"](1)] == ("previous_generation_instance", round(496 * 0.004, 2))
    # the released address: its 720 idle hours of September at $0.005
    assert realized[RESOURCE_IDS["eip"](0)] == ("idle_public_ipv4", 3.60)
    assert RESOURCE_IDS["gp2"](0) not in realized  # still gp2, still open
    (declined,) = con.execute("""select decision from marts.fct_savings_opportunities
        where resource_id = ? and billing_period = '2026-10-01'""", [RESOURCE_IDS["snapshot"](1)]).fetchone()
    assert declined == "wont_do"


def test_right_sizing_first_lowers_the_recommended_commitment(demo):
    con, _, _ = demo
    optimum = dict(con.execute("""select baseline, hourly_commitment from marts.fct_commitment_purchase_recommendations
                                  where lookback_days = 30 and is_optimal""").fetchall())
    assert 0 < optimum["right_sized"] < optimum["as_is"]


def test_the_review_pack_lists_each_teams_opportunities_and_the_commitment_curve(demo):
    con, pack, _ = demo
    html = pack.path.read_text()
    section = html[html.index('<section id="optimize">'):]
    section = section[:section.index("</section>")]
    teams = [t for (t,) in con.execute("""select team from marts.fct_savings_opportunities
        where billing_period = '2026-10-01' and is_open group by team order by sum(estimated_monthly_saving) desc""").fetchall()]
    positions = [section.index(f'id="optimize-{t}"') for t in teams]
    assert positions == sorted(positions) and len(teams) >= 8  # every team with open savings, largest first
    assert "Savings Plan: net savings by hourly commitment (30-day lookback)" in section
    assert "right-sized first" in section and "as billed" in section
    assert "the curve is an approximation" in section
    assert "optimize" not in pack.unavailable


def test_each_team_gets_one_weekly_digest_of_its_open_opportunities(demo, tmp_path, webhook):  # noqa: F811
    con, _, settings = demo
    # the demo's teams have no webhook: a copy of the warehouse where search has one
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as copy:
        copy.execute(f"attach '{settings.warehouse_path}' as demo (read_only)")
        copy.execute("create schema marts")
        copy.execute("create schema config")
        copy.execute("create table marts.fct_savings_opportunities as select * from demo.marts.fct_savings_opportunities")
        copy.execute("create table config.teams as select * from demo.config.teams")
        copy.execute("update config.teams set webhook_url = ? where team = 'search'", [f"{webhook.url}/hooks/search"])
    monday = date(2026, 11, 2)
    report = route_savings_digests(warehouse, tmp_path / "alerts", dagster_url=DAGSTER_URL, backoff_s=0, today=monday)
    sent = [d for d in report.deliveries if d.status == "sent"]
    assert [d.alert.alert_id for d in sent] == ["savings_digest:2026-W45:search"]
    assert {d.status for d in report.deliveries} == {"sent", "no_channel"}
    (count, total) = con.execute("""select count(*), sum(estimated_monthly_saving) from marts.fct_savings_opportunities
        where team = 'search' and is_open and billing_period = '2026-10-01'""").fetchone()
    (call,) = webhook.calls
    assert call["path"] == "/hooks/search"
    assert call["payload"]["text"].startswith(
        f"Savings opportunities for team search (week 2026-W45): {count} open, {total:,.2f} USD a month to save "
        f"(billing period 2026-10)")
    assert f"{DAGSTER_URL}/assets/marts/fct_savings_opportunities" in call["payload"]["text"]
    # the same week again: nothing sent; the next week: sent again
    again = route_savings_digests(warehouse, tmp_path / "alerts", dagster_url=DAGSTER_URL, backoff_s=0, today=monday)
    assert [d.status for d in again.deliveries if d.alert.team == "search"] == ["already_sent"]
    route_savings_digests(warehouse, tmp_path / "alerts", dagster_url=DAGSTER_URL, backoff_s=0,
                          today=date(2026, 11, 9))
    assert len(webhook.calls) == 2


def test_the_savings_asset_shows_open_savings_per_team_and_the_recommendation(demo, tmp_path):
    import shutil

    import dagster as dg

    from orchestration.definitions import FinopsSettings
    from orchestration.optimize import build_savings_asset

    con, _, settings = demo
    shutil.copy(settings.warehouse_path, tmp_path / "warehouse.duckdb")  # the asset reads the build file there
    finops = FinopsSettings(export_uri=str(tmp_path), data_dir=str(tmp_path), duckdb_threads=1,
                            duckdb_memory_limit="1GB")
    result = dg.materialize([build_savings_asset()], resources={"finops": finops})
    [event] = result.get_asset_materialization_events()
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    (count, total) = con.execute("""select count(*), round(sum(estimated_monthly_saving), 2)
        from marts.fct_savings_opportunities where is_open and billing_period = '2026-10-01'""").fetchone()
    assert (metadata["billing_period"], metadata["open_opportunities"], metadata["open_monthly_saving"]) == (
        "2026-10", count, total)
    by_team = metadata["by_team"]
    assert [t["monthly_saving"] for t in by_team] == sorted((t["monthly_saving"] for t in by_team), reverse=True)
    assert sum(t["open"] for t in by_team) == count
    assert metadata["top_opportunities"].count("\n") == 2 + 9  # header, rule, ten rows
    assert {(r["lookback_days"], r["baseline"]) for r in metadata["commitment_recommendation"]} == {
        (d, b) for d in (7, 30, 60) for b in ("as_is", "right_sized")}
    # the demo's teams have no webhook: every digest is reported, none is lost silently
    assert metadata["digests"].startswith(f"digests: {len(by_team)} new, 0 delivered — no webhook configured for ")
