"""Per-billing-period incremental models (macros/incremental, the scale issue).

One small generated organisation (three months) is landed and built; then the
tests change one thing at a time and rebuild, reading which periods each
incremental model rebuilt from its `_built_at` stamp and from dbt's log:

- nothing changed: nothing is re-read;
- a new delivery of one month: only that month is re-read and re-allocated, its
  line-item tests check that month only, and the marts equal both the new
  delivery to the cent and a rebuild from scratch;
- a seed edit (tag aliases): the line items are not re-read, but every period
  of the daily allocation input is rebuilt with the new aliases;
- a rule edit: every period is re-allocated, the daily costs are not rebuilt.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.ingestion.landing import load_exports
from orchestration.sample_data import write_sample_exports
from orchestration.settings import DBT_PROJECT_DIR

PERIODS = ["2026-07", "2026-08", "2026-09"]
# The models incremental per billing period, in build order.
INCREMENTAL_MODELS = ["int_line_items_aggregated_daily", "int_line_items_tag_maps", "int_line_items_summed_daily",
                      "int_allocation_keys_resolved", "int_cost_owners_resolved", "int_cost_allocated_daily",
                      "int_commitments_monthly"]


def dbt(project_dir: Path, data_dir: Path, *args: str) -> str:
    env = {**os.environ, "FINOPS_DATA_DIR": str(data_dir), "DBT_TARGET_PATH": str(data_dir / "target"),
           "FINOPS_DUCKDB_THREADS": "2", "FINOPS_DUCKDB_MEMORY_LIMIT": "2GB"}
    command = [str(Path(sys.executable).with_name("dbt")), "--no-use-colors", *args,
               "--profiles-dir", ".", "--project-dir", "."]
    done = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]
    return done.stdout


def build(project_dir: Path, data_dir: Path) -> str:
    return dbt(project_dir, data_dir, "build", "--exclude-resource-type", "unit_test")


def query(data_dir: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def built_at(data_dir: Path, model: str) -> dict[str, object]:
    rows = query(data_dir, f"select strftime(billing_period, '%Y-%m'), max(_built_at) from intermediate.{model} "
                           "group by 1 order by 1")
    return dict(rows)


def allocated_rows(data_dir: Path) -> list[tuple]:
    """fct_cost_allocated_daily, money rounded to the cent, in a stable order."""
    return query(data_dir, "select * exclude (billed_cost, effective_cost, list_cost), round(billed_cost, 2), "
                           "round(effective_cost, 2), round(list_cost, 2) from marts.fct_cost_allocated_daily "
                           "order by all")


def compiled_test_sql(data_dir: Path, test_name_start: str) -> str:
    """The SQL the last dbt invocation ran for a data test, by the start of its name."""
    results = json.loads((data_dir / "target" / "run_results.json").read_text())["results"]
    [sql] = [r["compiled_code"] for r in results if r["unique_id"].startswith(f"test.finops.{test_name_start}")]
    return sql


def showback_billed(data_dir: Path) -> dict[str, float]:
    rows = query(data_dir, "select strftime(billing_period, '%Y-%m'), sum(billed_cost) from marts.rpt_showback_monthly "
                           "group by 1 order by 1")
    return {period: round(cost, 2) for period, cost in rows}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """A copy of the dbt project (a test edits a seed) built once on three months."""
    tmp_path = tmp_path_factory.mktemp("incremental")
    project_dir = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project_dir, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    exports, data_dir = tmp_path / "exports", tmp_path / "data"
    summary = write_sample_exports(exports, periods=PERIODS, rows_per_period=1500, seed=5)
    load_exports(str(exports), data_dir / "landing")
    log = build(project_dir, data_dir)
    assert "int_line_items_aggregated_daily: every billing period changed" not in log  # first build: no table yet
    return project_dir, data_dir, exports, summary


def test_a_rebuild_without_changes_reads_no_line_items(warehouse):
    project_dir, data_dir, _, _ = warehouse
    before = built_at(data_dir, "int_line_items_aggregated_daily")
    log = build(project_dir, data_dir)
    for model in INCREMENTAL_MODELS:
        assert f"{model}: billing periods to build: none" in log
    assert built_at(data_dir, "int_line_items_aggregated_daily") == before


def test_a_new_delivery_of_one_month_rebuilds_that_month_only_and_the_marts_follow(warehouse):
    project_dir, data_dir, exports, _ = warehouse
    before = built_at(data_dir, "int_line_items_aggregated_daily")
    # another execution of September (seed 6): new files, new totals
    redelivered = write_sample_exports(exports, periods=["2026-09"], rows_per_period=900, seed=6)
    load_exports(str(exports), data_dir / "landing", periods=["2026-09"])
    log = build(project_dir, data_dir)
    for model in INCREMENTAL_MODELS:
        assert f"{model}: billing periods to build: 2026-09-01" in log
    after = built_at(data_dir, "int_line_items_aggregated_daily")
    assert after["2026-07"] == before["2026-07"] and after["2026-08"] == before["2026-08"]
    assert after["2026-09"] > before["2026-09"]
    # the line-item tests (which run before the aggregate is rebuilt) checked the re-read month only
    unique_line_items = compiled_test_sql(data_dir, "unique_combination_of_columns_int_line_items_unioned")
    assert "cast('2026-09-01' as date)" in unique_line_items and "2026-08-01" not in unique_line_items
    expected = round(sum(p.billed_cost for p in redelivered.periods), 2)
    assert showback_billed(data_dir)["2026-09"] == pytest.approx(expected, abs=0.01)
    line_items = query(data_dir, "select sum(line_item_count) from intermediate.int_line_items_aggregated_daily "
                                 "where billing_period = date '2026-09-01'")[0][0]
    assert line_items == sum(p.line_item_count for p in redelivered.periods)
    # the incremental result is the result of a build from scratch
    incremental = allocated_rows(data_dir)
    dbt(project_dir, data_dir, "build", "--exclude-resource-type", "unit_test", "--full-refresh")
    assert allocated_rows(data_dir) == incremental


def test_a_seed_edit_rebuilds_allocation_input_for_every_month_without_rereading_line_items(warehouse):
    project_dir, data_dir, _, _ = warehouse
    aggregated_before = built_at(data_dir, "int_line_items_aggregated_daily")
    untagged_before = query(data_dir, "select count(*) from intermediate.int_line_items_summed_daily "
                                      "where tag_team is null")[0][0]
    aliases = project_dir / "seeds" / "tag_key_aliases.csv"
    kept = [line for line in aliases.read_text().splitlines() if ",team," not in line]
    aliases.write_text("\n".join(kept) + "\n")  # no alias maps to team any more
    log = build(project_dir, data_dir)
    assert "int_line_items_aggregated_daily: billing periods to build: none" in log
    assert "int_line_items_summed_daily: every billing period changed, rebuilding the table" in log
    assert built_at(data_dir, "int_line_items_aggregated_daily") == aggregated_before
    counts = query(data_dir, "select count(*), count(tag_team) from intermediate.int_line_items_summed_daily")[0]
    assert counts[1] == 0 and counts[0] > untagged_before


def test_a_rule_edit_reallocates_every_month_without_rebuilding_the_daily_costs(warehouse):
    project_dir, data_dir, _, _ = warehouse
    summed_before = built_at(data_dir, "int_line_items_summed_daily")
    rules = project_dir / "seeds" / "allocation_rules.csv"
    header, *rows = rules.read_text().splitlines()
    rules.write_text("\n".join([header]) + "\n")  # no rules: rule-allocated cost falls back to account defaults
    log = build(project_dir, data_dir)
    assert "int_line_items_summed_daily: billing periods to build: none" in log
    assert "int_allocation_keys_resolved: every billing period changed, rebuilding the table" in log
    assert "int_cost_owners_resolved: every billing period changed, rebuilding the table" in log
    assert "int_cost_allocated_daily: every billing period changed, rebuilding the table" in log
    assert built_at(data_dir, "int_line_items_summed_daily") == summed_before
    assert rows, "the sample rules seed is not empty"
    assert query(data_dir, "select count(*) from marts.fct_cost_allocated_daily where allocation_method = 'rule'") == [(0,)]
