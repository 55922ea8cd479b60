"""Usage-metered, multi-hop shared costs (issue 20): usage driver files landed like billing
exports, a three-pool graph with a cycle solved exactly (checked against the reciprocal
method computed here by hand, with fractions), a period without drivers falling back, and a
bad driver file refused with nothing landed changed.

One small organisation, built once with real dbt on a copy of the project whose
shared_cost_rules hold three usage pools:

    shared-database (account 500000000001, $1,000.00 a month)
    shared-data-platform (account 500000000002, $600.00)   consumes the database; the database
                                                       consumes it back (a cycle)
    networking      (account 500000000003,   $300.00)   consumed by both
plus direct cost tagged to checkout ($100.00) and analytics ($300.00) each month.
"""

from __future__ import annotations

import csv
import re
import dataclasses
import shutil
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from orchestration.ingestion.landing import load_exports
from orchestration.ingestion.usage_drivers import UsageDriverError, land_usage_drivers
from orchestration.settings import DBT_PROJECT_DIR, Settings
from tests.export_builders import cur2_row, write_data_export
from tests.conftest import upload_folder
from tests.test_allocation import _copy_project, dbt_build

PERIODS = ["2026-08", "2026-09"]
DB, DP, NET = "500000000001", "500000000002", "500000000003"
TEAMS_ACCOUNT = "500000000009"
POOL_COST = {"shared-database": Fraction(1000), "shared-data-platform": Fraction(600), "networking": Fraction(300)}
DIRECT = {"checkout": Fraction(100), "analytics": Fraction(300)}

# Usage per pool and consumer. 2026-09 has no rows for shared-database: it falls back to its
# fallback_split_method (proportional to direct cost: checkout 100, analytics 300).
DRIVERS = {
    "2026-08": {
        "shared-database": {"shared-data-platform": 40, "checkout": 60},
        "shared-data-platform": {"analytics": 50, "checkout": 30, "shared-database": 20},
        "networking": {"shared-database": 10, "shared-data-platform": 30, "analytics": 60},
    },
    "2026-09": {
        "shared-data-platform": {"analytics": 50, "checkout": 50},
        "networking": {"shared-data-platform": 1, "analytics": 3},
    },
}
UNITS = {"shared-database": "GB-month", "shared-data-platform": "CPU-hours", "networking": "GB transferred"}


def _rules(rows: list[dict]) -> list[dict]:
    blank = {key: "" for key in rows[0]}
    return [
        blank | {"rule_order": "10", "rule_name": "shared-database", "match_account_id": DB, "include_tagged": "false",
                 "split_method": "usage", "receiver_scope": "all", "fallback_split_method": "proportional"},
        blank | {"rule_order": "20", "rule_name": "shared-data-platform", "match_account_id": DP, "include_tagged": "false",
                 "split_method": "usage", "receiver_scope": "all"},
        blank | {"rule_order": "30", "rule_name": "networking", "match_account_id": NET, "include_tagged": "false",
                 "split_method": "usage", "receiver_scope": "all"},
    ]


def _edit_seed(path: Path, edit) -> None:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0])
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(edit(rows))


def write_driver_file(path: Path, period: str, usage: dict[str, dict[str, float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["billing_period", "pool", "consumer", "quantity", "unit"])
        for pool, consumers in usage.items():
            for consumer, quantity in consumers.items():
                writer.writerow([period, pool, consumer, quantity, UNITS[pool]])


def reciprocal_shares(usage: dict[str, dict[str, float]], fallback: dict[str, dict[str, Fraction]]
                      ) -> dict[str, Fraction]:
    """The reciprocal method by hand: T_p = own cost_p + sum_q T_q * share(q -> p), solved exactly
    (Gauss-Jordan on fractions); team t receives sum_p T_p * share(p -> t)."""
    shares = {}
    for pool in POOL_COST:
        weights = {c: Fraction(q) for c, q in usage.get(pool, {}).items()} or fallback[pool]
        total = sum(weights.values())
        shares[pool] = {c: w / total for c, w in weights.items()}
    pools = list(POOL_COST)
    # rows: T_p - sum_q share(q -> p) T_q = own_p
    matrix = [[(Fraction(1) if p == q else Fraction(0)) - shares[q].get(p, Fraction(0)) for q in pools]
              + [POOL_COST[p]] for p in pools]
    for i in range(len(pools)):
        pivot = matrix[i][i]
        matrix[i] = [x / pivot for x in matrix[i]]
        for j in range(len(pools)):
            if j != i:
                factor = matrix[j][i]
                matrix[j] = [a - factor * b for a, b in zip(matrix[j], matrix[i])]
    totals = {p: matrix[i][-1] for i, p in enumerate(pools)}
    received: dict[str, Fraction] = {}
    for pool, consumers in shares.items():
        for consumer, share in consumers.items():
            if consumer not in POOL_COST:
                received[consumer] = received.get(consumer, Fraction(0)) + totals[pool] * share
    return received


def cents(value: Fraction) -> int:
    return int((value * 100).__round__())


def build_organisation(tmp_path: Path, drivers: dict[str, dict[str, dict[str, float]]]):
    """The organisation of the module docstring for the periods of ``drivers``, with those usage driver
    files landed and the allocation built with dbt; returns (settings, project, inbox, landing results)."""
    exports = tmp_path / "exports"
    for period in drivers:
        rows = [cur2_row(f"{period}-{account}", float(cost), account=account, start=f"{period}-10 10:00:00")
                for account, cost in ((DB, 1000), (DP, 600), (NET, 300))]
        rows += [cur2_row(f"{period}-{team}", float(cost), account=TEAMS_ACCOUNT, start=f"{period}-11 10:00:00",
                          tags={"user_team": team}) for team, cost in DIRECT.items()]
        write_data_export(exports, "cur2", period, {"part-1.parquet": rows}, execution_id=f"run-{period}")
    project = _copy_project(tmp_path / "dbt_project")
    _edit_seed(project / "seeds" / "shared_cost_rules.csv", _rules)
    _edit_seed(project / "seeds" / "shared_cost_weights.csv", lambda rows: [])  # no fixed pools here
    data_dir = tmp_path / "data"
    settings = dataclasses.replace(Settings.from_env(), data_dir=data_dir, export_uri=str(exports),
                                   duckdb_threads=2, duckdb_memory_limit="2GB")
    load_exports(str(exports), settings.landing_dir)
    inbox = tmp_path / "usage-drivers"
    for period, usage in drivers.items():
        write_driver_file(inbox / f"platform-usage-{period}.csv", period, usage)
    landed = land_usage_drivers(str(inbox), settings.landing_dir, seeds_dir=project / "seeds")
    dbt_build(project, data_dir, tmp_path / "target",
              ["+fct_shared_cost_paths", "+rpt_allocation_completeness", "+rpt_showback_monthly",
               "+fct_chargeback_ledger", "path:tests/allocation"])
    return settings, project, inbox, landed


@pytest.fixture(scope="module")
def usage_build(tmp_path_factory):
    settings, project, inbox, landed = build_organisation(tmp_path_factory.mktemp("usage_pools"), DRIVERS)
    assert [(r.billing_period, r.rows, r.status) for r in landed] == [("2026-08", 8, "landed"),
                                                                      ("2026-09", 4, "landed")]
    return settings, project, inbox


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_three_pool_graph_with_a_cycle_equals_the_reciprocal_method_to_the_cent(usage_build):
    settings, _, _ = usage_build
    expected = reciprocal_shares(DRIVERS["2026-08"], fallback={})
    # by hand: T_db = 1000 + 0.2 T_dp + 0.1 * 300, T_dp = 600 + 0.4 T_db + 0.3 * 300
    #   -> T_db = 1168 / 0.92 = 1269.5652..., T_dp = 1197.8260...
    assert {t: cents(v) for t, v in expected.items()} == {"checkout": 112109, "analytics": 77891}
    shared = dict(query(settings, """
        select team, round(sum(billed_cost) * 100)
        from intermediate.int_cost_allocated_daily
        where billing_period = date '2026-08-01' and allocation_method = 'shared_split'
        group by team"""))
    assert shared == {"checkout": 112109, "analytics": 77891}
    rounded = dict(query(settings, """
        select team, cast(round(sum(billed_cost_rounded) * 100) as bigint)
        from intermediate.int_allocation_paths
        where billing_period = date '2026-08-01' group by team"""))
    assert rounded == {"checkout": 112109, "analytics": 77891}
    # every pool distributed to the cent, the period's total conserved to the cent
    per_pool = query(settings, """
        select origin_pool, cast(round(sum(billed_cost_rounded) * 100) as bigint)
        from intermediate.int_allocation_paths
        where billing_period = date '2026-08-01' group by origin_pool order by origin_pool""")
    assert per_pool == [("networking", 30000), ("shared-data-platform", 60000), ("shared-database", 100000)]


def test_paths_explain_through_which_pools_each_dollar_reached_a_team(usage_build):
    settings, _, _ = usage_build
    paths = dict(query(settings, """
        select path, round(share, 10)
        from intermediate.int_allocation_paths
        where billing_period = date '2026-08-01' and team = 'analytics' and origin_pool = 'shared-database'"""))
    # the database's cost reaches analytics only through the data platform: directly 0.4 * 0.5,
    # then again around the cycle (database -> platform -> database -> platform ...), all folded into
    # one path: 0.4 * 0.5 / (1 - 0.4 * 0.2) = 0.2 / 0.92
    assert paths == {"shared-database > shared-data-platform": round(0.2 / 0.92, 10)}
    networking = dict(query(settings, """
        select path || ' -> ' || team, round(share, 10)
        from intermediate.int_allocation_paths
        where billing_period = date '2026-08-01' and origin_pool = 'networking'"""))
    assert set(networking) == {
        "networking -> analytics",
        "networking > shared-database -> checkout", "networking > shared-database > shared-data-platform -> analytics",
        "networking > shared-database > shared-data-platform -> checkout",
        "networking > shared-data-platform -> analytics", "networking > shared-data-platform -> checkout",
        "networking > shared-data-platform > shared-database -> checkout",
        "networking > shared-data-platform > shared-database -> analytics",
    }
    assert networking["networking -> analytics"] == 0.6
    assert abs(sum(networking.values()) - 1) < 1e-9


def test_a_usage_pool_without_drivers_falls_back_and_the_completeness_check_says_so(usage_build):
    settings, _, _ = usage_build
    expected = reciprocal_shares(DRIVERS["2026-09"], fallback={"shared-database": DIRECT})
    shared = dict(query(settings, """
        select team, round(sum(billed_cost) * 100)
        from intermediate.int_cost_allocated_daily
        where billing_period = date '2026-09-01' and allocation_method = 'shared_split'
        group by team"""))
    # database 1000 -> checkout 25% / analytics 75% (direct cost 100 / 300); platform 600 + 75
    # from networking -> 50/50; networking 300 -> 25% platform, 75% analytics
    assert shared == {t: cents(v) for t, v in expected.items()} == {"checkout": 58750, "analytics": 131250}
    assert query(settings, """
        select strftime(billing_period, '%Y-%m'), usage_pools_on_fallback, usage_fallback_pools
        from marts.rpt_allocation_completeness order by 1""") == [
        ("2026-08", 0, None), ("2026-09", 1, "shared-database")]
    assert query(settings, """
        select distinct applied_split_method from intermediate.int_shared_cost_shares
        where billing_period = date '2026-09-01' and shared_cost_rule_name = 'shared-database'""") == [
        ("proportional",)]


def test_total_allocated_equals_total_billed_per_period(usage_build):
    settings, _, _ = usage_build
    rows = query(settings, """
        select strftime(billing_period, '%Y-%m'), round(canonical_billed_cost, 2), round(billed_cost_difference, 6),
               round(undistributed_shared_cost, 6)
        from marts.rpt_allocation_completeness order by 1""")
    assert rows == [("2026-08", 2300.0, 0.0, 0.0), ("2026-09", 2300.0, 0.0, 0.0)]


@pytest.mark.parametrize("row, message", [
    (["2026-08", "shared-databse", "checkout", "5", "GB"],
     "row 2: pool 'shared-databse' is not a rule_name of seed shared_cost_rules; add the pool there "
     "(split_method usage) or correct the name."),
    (["2026-08", "shared-database", "chekout", "5", "GB"],
     "row 2: consumer 'chekout' is neither a team of seed teams nor a pool of seed shared_cost_rules; "
     "add it there or correct the name."),
    (["2026-08", "shared-database", "checkout", "-5", "GB"],
     "row 2: quantity -5 is negative; usage is counted as 0 or more."),
    (["2026-08", "shared-database", "checkout", "1,200", "GB"],
     "row 2: quantity '1,200' is not a number."),
])
def test_a_bad_driver_row_is_refused_naming_file_and_row_and_nothing_landed_changes(usage_build, tmp_path,
                                                                                       row, message):
    settings, project, inbox = usage_build
    landed = sorted((settings.landing_dir / "usage_drivers").rglob("*"))
    before = {p: p.read_bytes() for p in landed if p.is_file()}
    bad_inbox = tmp_path / "inbox"
    shutil.copytree(inbox, bad_inbox)
    bad = bad_inbox / "late-corrections.csv"
    with open(bad, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["billing_period", "pool", "consumer", "quantity", "unit"])
        writer.writerow(["2026-08", "shared-database", "checkout", "7", "GB"])
        writer.writerow(row)
    with pytest.raises(UsageDriverError) as refused:
        land_usage_drivers(str(bad_inbox), settings.landing_dir, seeds_dir=project / "seeds")
    assert str(refused.value) == (f"{bad}: {message} Nothing was landed from this load; "
                                  "what was landed before is unchanged.")
    assert {p: p.read_bytes() for p in sorted((settings.landing_dir / "usage_drivers").rglob("*"))
            if p.is_file()} == before


def test_a_driver_file_without_a_required_column_is_refused(usage_build, tmp_path):
    _, project, _ = usage_build
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "no-unit.csv").write_text("usage_date,pool,consumer,quantity\n2026-08-03,networking,analytics,4\n")
    with pytest.raises(UsageDriverError) as refused:
        land_usage_drivers(str(inbox), tmp_path / "landing", seeds_dir=project / "seeds")
    assert str(refused.value) == (
        f"{inbox / 'no-unit.csv'}: usage driver file is missing column(s) unit; the header must name "
        "billing_period (YYYY-MM) or usage_date (YYYY-MM-DD), pool, consumer, quantity, unit. "
        "Fix the file and load again; nothing was landed from it.")
    assert not (tmp_path / "landing").exists()


def test_driver_files_in_s3_land_like_billing_exports(usage_build, s3_bucket, tmp_path):
    """The same files from S3 (moto's server): same rows landed; loading again changes nothing."""
    settings, project, inbox = usage_build
    bucket = s3_bucket
    upload_folder(inbox, bucket, "drivers")
    landing = tmp_path / "landing"
    first = land_usage_drivers(f"s3://{bucket}/drivers", landing, seeds_dir=project / "seeds")
    assert [(r.billing_period, r.rows, r.status) for r in first] == [("2026-08", 8, "landed"), ("2026-09", 4, "landed")]
    again = land_usage_drivers(f"s3://{bucket}/drivers", landing, seeds_dir=project / "seeds", periods=["2026-09"])
    assert [(r.billing_period, r.status) for r in again] == [("2026-09", "unchanged")]
    with duckdb.connect() as con:
        assert con.execute(f"""select pool, consumer, quantity from read_parquet(
            '{landing}/usage_drivers/billing_period=2026-09/usage_drivers.parquet') order by all""").fetchall() == [
            ("networking", "analytics", 3.0), ("networking", "shared-data-platform", 1.0),
            ("shared-data-platform", "analytics", 50.0), ("shared-data-platform", "checkout", 50.0)]


def test_usage_drivers_are_a_landing_asset_upstream_of_their_staging_model():
    import dagster as dg

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey(["landing", "usage_drivers"]))
    assert node.group_name == "landing" and node.partitions_def is not None
    assert dg.AssetKey(["landing", "usage_drivers"]) in graph.get(
        dg.AssetKey(["staging", "stg_usage__drivers"])).parent_keys


def test_the_review_pack_shows_the_chain_of_pools_for_the_largest_pools(usage_build, tmp_path):
    from orchestration.publish import publish_marts
    from orchestration.reports import write_review_pack

    settings, _, _ = usage_build
    publish_marts(settings.warehouse_path, tmp_path / "data")
    pack = write_review_pack(tmp_path / "data", "2026-08")
    assert "shared_paths" not in pack.unavailable
    html = re.sub(r"\s+", " ", pack.path.read_text())
    section = html[html.index('<section id="shared_paths">'):]
    section = section[:section.index("</section>")]
    # the three pools, largest first, each with its total and how far its cost travelled
    assert re.findall(r"<h3>(.*?)</h3>", section) == [
        "shared-database — 1,000.00 to 2 team(s), up to 1 pool(s) in between",
        "shared-data-platform — 600.00 to 2 team(s), up to 1 pool(s) in between",
        "networking — 300.00 to 2 team(s), up to 2 pool(s) in between"]
    assert ('<tr><td class="text">analytics</td><td class="text">shared-database &gt; shared-data-platform</td>'
            '<td>21.7%</td><td>217.39</td></tr>') in section


def test_finops_build_lands_a_period_whose_drivers_changed_even_if_its_bill_did_not(usage_build, tmp_path):
    from orchestration.ingestion.usage_drivers import periods_with_new_drivers

    settings, project, inbox = usage_build
    seeds = project / "seeds"
    assert periods_with_new_drivers(str(inbox), settings.landing_dir, PERIODS, seeds_dir=seeds) == set()
    changed = tmp_path / "inbox"
    shutil.copytree(inbox, changed)
    write_driver_file(changed / "platform-usage-2026-09.csv", "2026-09",
                      {**DRIVERS["2026-09"], "shared-database": {"checkout": 1}})
    assert periods_with_new_drivers(str(changed), settings.landing_dir, PERIODS, seeds_dir=seeds) == {"2026-09"}
    (changed / "broken.csv").write_text("pool,consumer\n")
    # a file the landing would refuse: every period's landing run reports it
    assert periods_with_new_drivers(str(changed), settings.landing_dir, PERIODS, seeds_dir=seeds) == set(PERIODS)


def test_pools_that_only_consume_each_other_stay_visible_as_unallocated(tmp_path):
    """A closed cycle: the database and the data platform bill only each other, so their $1,600 never
    reaches a team. It is kept as 'unallocated' (path '<pool> (no team)'), and the period still balances."""
    settings, _, _, _ = build_organisation(tmp_path, {"2026-10": {
        "shared-database": {"shared-data-platform": 1},
        "shared-data-platform": {"shared-database": 1},
        "networking": {"analytics": 1},
    }})
    assert query(settings, """
        select origin_pool, path, team, billed_cost_rounded from marts.fct_shared_cost_paths
        order by origin_pool""") == [
        ("networking", "networking", "analytics", 300.0),
        ("shared-data-platform", "shared-data-platform (no team)", "unallocated", 600.0),
        ("shared-database", "shared-database (no team)", "unallocated", 1000.0)]
    assert query(settings, """
        select round(billed_cost_difference, 6), round(unallocated_billed_cost, 2)
        from marts.rpt_allocation_completeness""") == [(0.0, 1600.0)]
