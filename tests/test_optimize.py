"""Optimize (issue 19) on a hand-written bill (tests/optimize_fixture.py): every opportunity kind's
saving priced by hand here, the commitment optimum found by hand (as billed and right-sized), and a
gp2 volume that becomes gp3 the next month counted as realized. Real landing, real dbt build of the
Optimize marts and what they depend on, in a copy of the project whose savings_decisions seed
declines one opportunity.
"""

from __future__ import annotations

import dataclasses
import shutil

import duckdb
import pytest

from orchestration.ingestion.landing import load_exports
from orchestration.settings import DBT_PROJECT_DIR, Settings
from tests.optimize_fixture import hand_bill
from tests.test_allocation import dbt_build

SELECTION = ["+fct_savings_opportunities", "+fct_commitment_purchase_recommendations", "+fct_realized_savings_monthly"]
DECLINED = ("old_snapshot", "snap-old", "kept for the 2026 audit")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("optimize")
    hand_bill().write(tmp_path / "exports")
    settings = dataclasses.replace(Settings.from_env(), data_dir=tmp_path / "data",
                                   export_uri=str(tmp_path / "exports"), duckdb_threads=2)
    load_exports(str(tmp_path / "exports"), settings.landing_dir)
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project,
                    ignore=shutil.ignore_patterns("target*", "logs", "dbt_packages", "*.duckdb"))
    with (project / "seeds" / "savings_decisions.csv").open("a") as seed:
        seed.write(f"{DECLINED[0]},{DECLINED[1]},wont_do,{DECLINED[2]},data-platform-lead,2026-09-20\n")
    dbt_build(project, settings.data_dir, tmp_path / "target", SELECTION)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        yield con


def opportunity(con, kind: str, resource: str, period: str = "2026-09-01") -> dict:
    cursor = con.execute("""
        select * from marts.fct_savings_opportunities
        where kind = ? and resource_id = ? and billing_period = cast(? as date)""", [kind, resource, period])
    names = [d[0] for d in cursor.description]
    found = cursor.fetchall()
    assert len(found) == 1, (kind, resource, period, found)
    return dict(zip(names, found[0]))


# kind, resource, period, team, monthly cost, saving — each priced by hand from the fixture's figures
HAND_PRICED = [
    # 100 GB gp2 at $0.10 = $10; gp3 at the seed's $0.08 (no gp3 billed in August) = $8
    ("ebs_gp2_to_gp3", "vol-small", "2026-08-01", "checkout", 10.00, 10.00 - 100 * 0.08),
    # 2,000 GB gp2 = $200; gp3 at the bill's own $0.08 (vol-small is gp3 in September) = $160, plus the
    # IOPS gp2 gave it above gp3's 3,000: 3 x 2,000 - 3,000 = 3,000 IOPS x $0.005 = $15
    ("ebs_gp2_to_gp3", "vol-big", "2026-09-01", "checkout", 200.00, 200.00 - (2000 * 0.08 + 3000 * 0.005)),
    # io1 200 GB x $0.125 + 4,000 IOPS x $0.065 = $285; gp3: 200 x $0.08 + (4,000 - 3,000) x $0.005 = $21
    ("ebs_io1_to_gp3", "vol-io1", "2026-09-01", "search", 285.00, 285.00 - (200 * 0.08 + 1000 * 0.005)),
    # m4.large 100 h x $0.10; the cheaper mapped type is m6g.large at $0.077 (m5.large: $0.096)
    ("previous_generation_instance", "i-m4-part", "2026-08-01", "search", 10.00, 10.00 - 100 * 0.077),
    # 720 idle address-hours x $0.005: released, all of it is saved
    ("idle_public_ipv4", "eipalloc-idle", "2026-09-01", "payments", 3.60, 3.60),
    # 720 h x $0.045 + 2 GB x $0.045; 2 GB / 720 h = 0.0028 GB an hour, under the 0.01 threshold
    ("idle_nat_gateway", "nat-forgotten", "2026-09-01", "data-platform", 32.49, 720 * 0.045 + 2 * 0.045),
    # 720 h x $0.0225 + 2.5 LCU-hours x $0.008
    ("idle_load_balancer", "app/idle-lb", "2026-09-01", "checkout", 16.22, 720 * 0.0225 + 2.5 * 0.008),
    # in the bill since July: two months old in September, 50 GB-month x $0.05
    ("old_snapshot", "snap-old", "2026-09-01", "data-platform", 2.50, 50 * 0.05),
    # 1,000 GB-month x $0.023 = $23 with 0.5 requests per GB-month; Infrequent Access tier $0.0125
    ("s3_intelligent_tiering", "cold-bucket", "2026-09-01", "data-platform", 23.00, 23.00 - 1000 * 0.0125),
    # 720 of 720 hours on demand, $72; the bill's Savings Plan line reveals 1 - 72/100 = 28 %
    ("steady_on_demand_compute", "i-m4-steady", "2026-09-01", "search", 72.00, 72.00 * 0.28),
]


@pytest.mark.parametrize(("kind", "resource", "period", "team", "cost", "saving"), HAND_PRICED,
                         ids=[f"{k}:{r}" for k, r, *_ in HAND_PRICED])
def test_each_kind_saves_what_the_hand_computation_says(warehouse, kind, resource, period, team, cost, saving):
    row = opportunity(warehouse, kind, resource, period)
    assert row["team"] == team  # the owner allocation resolves (the resource's team tag)
    assert round(row["monthly_cost"], 2) == round(cost, 2)
    assert round(row["estimated_monthly_saving"], 2) == round(saving, 2)
    assert row["region_id"] == "us-east-1" and row["sub_account_id"] == "222233334444"
    assert row["evidence"] and row["confidence"] in {"high", "medium", "low"}


def test_the_evidence_names_the_figures_and_the_price_source(warehouse):
    assert opportunity(warehouse, "ebs_gp2_to_gp3", "vol-small", "2026-08-01")["evidence"] == (
        "gp2 100.0 GB (100.00 GB-month at 0.1000/GB-month); gp3 at 0.0800/GB-month (seed)")
    assert opportunity(warehouse, "ebs_gp2_to_gp3", "vol-big")["price_source"] == "bill"
    assert opportunity(warehouse, "idle_nat_gateway", "nat-forgotten")["evidence"] == (
        "720 hours billed, 2.000 GB processed (0.0028 per hour)")
    graviton = opportunity(warehouse, "previous_generation_instance", "i-m4-part", "2026-08-01")
    assert "m6g.large (arm64)" in graviton["evidence"] and graviton["confidence"] == "low"


def test_resources_under_the_thresholds_are_not_flagged(warehouse):
    flagged = {r[0] for r in warehouse.execute("select distinct resource_id from marts.fct_savings_opportunities").fetchall()}
    # 100 idle hours (< 168), 5,000 GB through the NAT, 1,000 requests per GB-month, a new snapshot,
    # an m4 that does not run all month only as previous generation, a gp3 volume, the c5 burst
    assert not flagged & {"eipalloc-brief", "nat-busy", "busy-bucket", "snap-new", "i-c5-burst", "i-m5-covered"}
    (august_snapshot,) = warehouse.execute("""select count(*) from marts.fct_savings_opportunities
        where resource_id = 'snap-old' and billing_period < '2026-09-01'""").fetchone()
    assert august_snapshot == 0  # one month in the bill is not old


def test_two_kinds_on_one_resource_count_once_the_larger_wins(warehouse):
    steady = opportunity(warehouse, "steady_on_demand_compute", "i-m4-steady")
    resized = opportunity(warehouse, "previous_generation_instance", "i-m4-steady")
    assert round(resized["estimated_monthly_saving"], 2) == round(72.00 - 720 * 0.077, 2)  # 16.56 < 20.16
    assert (steady["is_overlapping"], steady["is_open"]) == (False, True)
    assert (resized["is_overlapping"], resized["is_open"]) == (True, False)
    (open_total,) = warehouse.execute("""select round(sum(estimated_monthly_saving), 2)
        from marts.fct_savings_opportunities where billing_period = '2026-09-01' and is_open""").fetchone()
    # every September row of HAND_PRICED except the declined snapshot
    expected = sum(s for k, r, p, _, _, s in HAND_PRICED if p == "2026-09-01" and r != "snap-old")
    assert open_total == round(expected, 2)


def test_a_declined_opportunity_leaves_the_open_list_and_stays_in_the_history(warehouse):
    row = opportunity(warehouse, "old_snapshot", "snap-old")
    assert (row["decision"], row["decision_reason"], row["is_open"], row["is_overlapping"]) == (
        "wont_do", DECLINED[2], False, False)


def optimum(con, lookback: int, baseline: str) -> tuple:
    return con.execute("""
        select round(hourly_commitment, 6), round(expected_net_savings, 4), discount_rate, discount_source,
               is_approximation, hours, cast(window_start as varchar), cast(window_end as varchar)
        from marts.fct_commitment_purchase_recommendations
        where lookback_days = ? and baseline = ? and is_optimal""", [lookback, baseline]).fetchall()


def test_the_optimal_commitment_is_the_hand_computed_one_and_right_sizing_lowers_it(warehouse):
    # September, 30 days: the m4.large costs $0.10/h all day; the c5 burst adds $0.01/h x day number.
    # Day d's hourly spend x_d = 0.10 + 0.01 d. With d = 0.28 (the bill's Savings Plan line) the
    # saving grows while more than 30 x 0.72 = 21.6 days exceed k: k = x_9 = 0.19 (21 days above).
    k = 0.19
    covered = 24 * (sum(0.10 + 0.01 * d for d in range(1, 9)) + 22 * k)
    assert optimum(warehouse, 30, "as_is") == [(round(k * 0.72, 6), round(covered - 720 * k * 0.72, 4), 0.28,
                                                "bill", True, 720, "2026-09-01", "2026-09-30")]
    # right-sized: the m4.large moved to m6g.large costs $0.077/h, so x_d = 0.077 + 0.01 d and k = 0.167
    k = 0.167
    covered = 24 * (sum(0.077 + 0.01 * d for d in range(1, 9)) + 22 * k)
    assert optimum(warehouse, 30, "right_sized") == [(round(k * 0.72, 6), round(covered - 720 * k * 0.72, 4), 0.28,
                                                      "bill", True, 720, "2026-09-01", "2026-09-30")]


def test_the_whole_curve_is_there_for_every_window(warehouse):
    curves = dict(((w, b), (n, z)) for w, b, n, z in warehouse.execute("""
        select lookback_days, baseline, count(*), min(hourly_commitment)
        from marts.fct_commitment_purchase_recommendations group by 1, 2""").fetchall())
    # 30 distinct daily values plus the zero commitment; 7 days: 7 + 1
    assert curves[(30, "as_is")] == (31, 0.0) and curves[(30, "right_sized")] == (31, 0.0)
    assert curves[(7, "as_is")] == (8, 0.0) and (60, "as_is") in curves
    (coverage, utilization) = warehouse.execute("""
        select round(max(expected_coverage_pct), 6), round(min(expected_utilization_pct), 6)
        from marts.fct_commitment_purchase_recommendations where lookback_days = 30 and baseline = 'as_is'""").fetchone()
    assert coverage == 100.0 and utilization > 0


def test_a_gp2_volume_changed_to_gp3_is_a_realized_saving(warehouse):
    found = warehouse.execute("""
        select kind, resource_id, team, cast(previous_period as varchar), usage_type_before, usage_type_after,
               round(cost_before, 2), round(cost_after, 2), round(realized_monthly_saving, 2),
               round(estimated_monthly_saving, 2)
        from marts.fct_realized_savings_monthly
        where billing_period = '2026-09-01' and resource_id = 'vol-small'""").fetchall()
    # $10.00 of gp2 in August, $8.00 of gp3 in September: $2.00, as estimated
    assert found == [("ebs_gp2_to_gp3", "vol-small", "checkout", "2026-08-01", "EBS:VolumeUsage.gp2",
                      "EBS:VolumeUsage.gp3", 10.00, 8.00, 2.00, 2.00)]
    (commitment,) = warehouse.execute("""
        select round(realized_monthly_saving, 2) from marts.fct_realized_savings_monthly
        where billing_period = '2026-09-01' and kind = 'savings_plan'""").fetchall()
    assert commitment == (28.00,)  # $100 on demand covered for $72
