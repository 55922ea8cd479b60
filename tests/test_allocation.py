"""Allocation end to end: a small generated organisation landed and built with dbt, then the
allocation marts checked against the sample organisation (issue #3).

One build (3,000 line items per period, 2 periods, plus a tiny extra payer outside the org
whose only tagged resource carries a team value with a quote and a semicolon) serves every
test. To stay fast it lands with the loader and builds only the allocation marts and what
they depend on (the full Dagster path is test_pipeline's job); the seed-editing test
rebuilds the allocation models in a copy of the project.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.ingestion.landing import load_exports
from orchestration.sample_data import organisation as org
from orchestration.sample_data import write_sample_exports
from orchestration.settings import DBT_PROJECT_DIR, Settings
from tests.export_builders import cur2_row, write_data_export

PERIODS = ["2026-08", "2026-09"]
QUOTED_TEAM = "o'brien; drop table teams;--"
EXTRA_ACCOUNT, EXTRA_PAYER = "999900001111", "999900000000"
CHARGEBACK_TEAMS = {"payments", "data-platform", "ml-inference"}  # seeds/teams.csv


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def allocation_build(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("allocation")
    exports = tmp_path / "exports"
    summary = write_sample_exports(exports, periods=PERIODS, rows_per_period=3000, seed=11)
    write_data_export(exports, "extra-payer", "2026-08", {"part-1.parquet": [
        cur2_row("q-1", 12.34, account=EXTRA_ACCOUNT, payer=EXTRA_PAYER, start="2026-08-03 10:00:00",
                 tags={"user_Team": QUOTED_TEAM}),
        cur2_row("q-2", 5.0, account=EXTRA_ACCOUNT, payer=EXTRA_PAYER, start="2026-08-04 10:00:00"),
    ]}, execution_id="extra-1")
    settings = dataclasses.replace(Settings.from_env(), data_dir=tmp_path / "data", export_uri=str(exports),
                                   duckdb_threads=2, duckdb_memory_limit="2GB")
    load_exports(str(exports), settings.landing_dir)
    dbt_build(DBT_PROJECT_DIR, settings.data_dir, tmp_path / "target", ALLOCATION_SELECTION)
    return settings, summary


ALLOCATION_SELECTION = ["+rpt_showback_monthly", "+fct_chargeback_ledger", "+dim_accounts", "+dim_teams",
                        "path:tests/allocation",
                        "assert_allocated_cost_equals_counted_line_items_per_period"]


def dbt_build(project_dir: Path, data_dir: Path, target_path: Path, selection: list[str]) -> None:
    """dbt build of `selection` (unit tests excluded: the project's own dbt build runs them)."""
    env = {**os.environ, "FINOPS_DATA_DIR": str(data_dir), "DBT_TARGET_PATH": str(target_path),
           "FINOPS_DUCKDB_THREADS": "2", "FINOPS_DUCKDB_MEMORY_LIMIT": "2GB"}
    command = [str(Path(sys.executable).with_name("dbt")), "--no-use-colors", "build", "--exclude-resource-type",
               "unit_test", "--indirect-selection", "buildable", "--select", *selection, "--profiles-dir", ".", "--project-dir", "."]
    done = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]


def test_every_sample_team_appears_in_showback_with_its_shared_cost_and_monthly_change(allocation_build):
    settings, _ = allocation_build
    rows = query(settings, """
        select team, strftime(billing_period, '%Y-%m'), direct_cost, shared_cost, total_cost,
               prior_period_cost, change_pct, untagged_cost_pct
        from marts.rpt_showback_monthly""")
    by_key = {(r[0], r[1]): r[2:] for r in rows}
    for team in org.TEAMS:
        august, september = by_key[(team.name, "2026-08")], by_key[(team.name, "2026-09")]
        direct, shared, total, prior, change, untagged = september
        assert direct > 0 and shared > 0, team.name  # every team carries part of support/networking/...
        assert total == pytest.approx(direct + shared)
        assert prior == pytest.approx(august[2])
        assert change == pytest.approx(100 * (total - prior) / abs(prior))
        assert 0 <= untagged <= 100
    # 'unallocated' is a row of its own: the extra payer's untagged line has no owner
    assert by_key[("unallocated", "2026-08")][2] == pytest.approx(5.0)
    assert ("unallocated", "2026-09") in by_key


def test_allocation_coverage_is_visibly_higher_than_tag_coverage(allocation_build):
    settings, _ = allocation_build
    (allocated_pct,) = query(settings, """
        select 100 * sum(case when team <> 'unallocated' then billed_cost else 0 end) / sum(billed_cost)
        from marts.fct_cost_allocated_daily""")[0]
    (tagged_pct,) = query(settings, """
        select 100 * sum(case when not is_untagged then billed_cost else 0 end) / sum(billed_cost)
        from intermediate.int_line_items_counted_daily""")[0]
    methods = dict(query(settings, """
        select allocation_method, sum(billed_cost) from marts.fct_cost_allocated_daily group by 1"""))
    assert allocated_pct > 99 and allocated_pct > tagged_pct + 15
    assert {"tag", "rule", "account_default", "shared_split", "unallocated"} <= set(methods)


def test_money_is_conserved_per_period_and_shared_pools_are_fully_split(allocation_build):
    settings, summary = allocation_build
    expected: dict[str, float] = {}
    for figures in summary.periods:
        expected[figures.period] = expected.get(figures.period, 0.0) + figures.billed_cost
    expected["2026-08"] += 12.34 + 5.0
    actual = dict(query(settings, """select strftime(billing_period, '%Y-%m'), round(sum(billed_cost), 2)
                                     from marts.fct_cost_allocated_daily group by 1"""))
    assert actual == {p: pytest.approx(round(v, 2), abs=0.005) for p, v in expected.items()}
    pools = query(settings, """
        select p.shared_cost_rule_name, p.total, s.total
        from (select shared_cost_rule_name, sum(effective_cost) total from intermediate.int_shared_cost_pools group by 1) p
        join (select shared_cost_rule_name, sum(effective_cost) total from intermediate.int_shared_costs_split group by 1) s
          using (shared_cost_rule_name)""")
    assert {name for name, _, _ in pools} >= {"aws-support", "shared-networking", "shared-services", "log-archive",
                                              "security-tooling"}
    for name, pooled, split in pools:
        assert split == pytest.approx(pooled, abs=0.005), name
    fixed = dict(query(settings, """select team, max(share) from intermediate.int_shared_cost_shares
                                    where shared_cost_rule_name = 'log-archive' group by 1"""))
    assert fixed == {"data-platform": pytest.approx(0.5), "ml-inference": pytest.approx(0.3),
                     "analytics": pytest.approx(0.2)}


def test_chargeback_ledger_bills_chargeback_teams_what_showback_shows_them(allocation_build):
    settings, _ = allocation_build
    ledger = query(settings, """select statement_id, team, cost_center, strftime(billing_period, '%Y-%m'),
                                       billing_period, billing_currency, amount from marts.fct_chargeback_ledger""")
    assert {row[1] for row in ledger} == CHARGEBACK_TEAMS
    for statement_id, team, cost_center, _, period, currency, _ in ledger:
        assert statement_id == hashlib.md5(f"{team}|{cost_center}|{period}|{currency}".encode()).hexdigest()
    totals: dict[tuple[str, str], float] = {}
    for _, team, _, period, _, _, amount in ledger:
        totals[(team, period)] = totals.get((team, period), 0.0) + amount
    showback = {(team, period): total for team, period, total in query(settings, """
        select team, strftime(billing_period, '%Y-%m'), total_cost from marts.rpt_showback_monthly""")
        if team in CHARGEBACK_TEAMS}
    assert set(totals) == set(showback)
    for key, total in showback.items():
        assert totals[key] == pytest.approx(total, abs=0.005)


def test_a_tag_value_with_a_quote_and_a_semicolon_is_just_data(allocation_build):
    settings, _ = allocation_build
    rows = query(settings, """select allocation_method, sum(billed_cost) from marts.fct_cost_allocated_daily
                              where team = ? group by 1""", [QUOTED_TEAM])
    assert rows == [("tag", pytest.approx(12.34))]
    assert query(settings, "select is_configured from marts.dim_accounts where account_id = ?",
                 [EXTRA_ACCOUNT]) == [(False,)]


def _copy_project(target: Path) -> Path:
    ignore = shutil.ignore_patterns("target*", "logs", "dbt_packages", "*.duckdb")
    shutil.copytree(DBT_PROJECT_DIR, target, ignore=ignore)
    return target


def _edit_seed(path: Path, edit) -> None:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0])
    rows = edit(rows)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_editing_seeds_changes_the_allocation_on_the_next_build_without_sql_edits(allocation_build, tmp_path):
    settings, _ = allocation_build
    project = _copy_project(tmp_path / "dbt_project")
    seeds = project / "seeds"

    def support_split_evenly(rows):
        for row in rows:
            if row["rule_name"] == "aws-support":
                row["split_method"] = "even"
        return rows

    def own_the_extra_account(rows):
        return rows + [{**rows[0], "account_id": EXTRA_ACCOUNT, "account_name": "it's; new", "payer_account_id":
                        EXTRA_PAYER, "team": "growth", "environment": "prod", "product": "marketing-site",
                        "is_shared": "false"}]

    def product_for_the_quoted_team(rows):
        return rows + [{key: "" for key in rows[0]} | {
            "rule_order": "999", "rule_name": "quoted; rule", "match_tag_key": "team",
            "match_tag_value": QUOTED_TEAM.upper(), "set_product": "it's; fine"}]

    _edit_seed(seeds / "shared_cost_rules.csv", support_split_evenly)
    _edit_seed(seeds / "account_owners.csv", own_the_extra_account)
    _edit_seed(seeds / "allocation_rules.csv", product_for_the_quoted_team)

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(settings.warehouse_path, data_dir / "warehouse.duckdb")
    dbt_build(project, data_dir, tmp_path / "target", [
        "account_owners", "allocation_rules", "shared_cost_rules", "shared_cost_weights", "teams",
        "path:models/intermediate/allocation", "path:models/marts/allocation", "path:tests/allocation"])

    edited = dataclasses.replace(settings, data_dir=data_dir)
    shares = {round(share, 9) for (share,) in query(edited, """
        select share from intermediate.int_shared_cost_shares
        where shared_cost_rule_name = 'aws-support' and billing_period = '2026-09-01'
          and scope_value = '111122223333'""")}
    assert len(shares) == 1  # even: one share for everyone
    before = {(r[0], r[1]) for r in query(settings, """select team, allocation_method
              from marts.fct_cost_allocated_daily where sub_account_id = ?""", [EXTRA_ACCOUNT])}
    after = {(r[0], r[1]) for r in query(edited, """select team, allocation_method
             from marts.fct_cost_allocated_daily where sub_account_id = ?""", [EXTRA_ACCOUNT])}
    assert before == {(QUOTED_TEAM, "tag"), ("unallocated", "unallocated")}
    assert after == {(QUOTED_TEAM, "tag"), ("growth", "account_default")}
    assert query(edited, "select distinct product from marts.fct_cost_allocated_daily where team = ?",
                 [QUOTED_TEAM]) == [("it's; fine",)]
    # the original build is untouched: its support split is still proportional
    assert len({round(s, 9) for (s,) in query(settings, """select share from intermediate.int_shared_cost_shares
               where shared_cost_rule_name = 'aws-support' and scope_value = '111122223333'""")}) > 1
