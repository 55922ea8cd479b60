"""Incremental by billing period, the way the tools mean it (issue 17).

A small generated organisation (three months) is built with `finops build` (real Dagster runs,
real dbt); then one thing changes at a time:

- nothing changed: the build says "up to date" and runs no warehouse job at all;
- a new delivery of the last month: the run is for that partition only, every other month's
  rows are byte-identical in every period-grained model, the tests on line items check that
  month only, and the result equals a build from scratch;
- a seed, model or macro edit (build_plan on the real manifest): what depends on it is
  rebuilt, for every month, and the line items are never read again for a seed edit.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.build_plan import plan_build, record_build
from orchestration.cli import run_build
from orchestration.sample_data import write_sample_exports
from orchestration.settings import DBT_PROJECT_DIR, Settings

PERIODS = ["2026-07", "2026-08", "2026-09"]


def period_snapshot(warehouse: Path) -> dict[str, dict[str, object]]:
    """Per table with a billing_period column (intermediate and marts), per period: what must not change.

    A period-incremental table's rows as stored, as (rows, sum of row hashes): the months a run is
    not for are not written at all, so they must stay byte-identical. The small whole-history
    tables are written anew by every run, and DuckDB's parallel sums may then differ in the last
    bit of a double: their rows themselves, compared with a tolerance of 1e-9 (see rows_equal)."""
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    incremental = {n["alias"] for n in manifest["nodes"].values()
                   if n["resource_type"] == "model" and n["config"].get("materialized") == "incremental"}
    assert {"int_line_items_aggregated_daily", "int_cost_allocated_daily", "int_costs_by_scope_monthly"} <= incremental
    snapshot = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute("""select table_schema, table_name from information_schema.columns
                                where column_name = 'billing_period' and table_schema in ('intermediate', 'marts')
                                group by all order by all""").fetchall()
        for schema, table in tables:
            if table in incremental:
                snapshot[f"{schema}.{table}"] = {period: (rows, digest) for period, rows, digest in con.execute(
                    f"select strftime(billing_period, '%Y-%m'), count(*), sum(hash(t)::hugeint) "
                    f"from {schema}.{table} t group by 1").fetchall()}
            else:
                by_period: dict[str, list] = {}
                for row in con.execute(f"select strftime(billing_period, '%Y-%m') as _period, * "
                                       f"from {schema}.{table} order by all").fetchall():
                    by_period.setdefault(row[0], []).append(row[1:])
                snapshot[f"{schema}.{table}"] = by_period
    return snapshot


def rows_equal(a, b) -> bool:
    """Equal rows; floats equal to 1e-9 (relative or absolute)."""
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and a and isinstance(a[0], int):
        return a == b  # (rows, digest) of an incremental table: exactly
    if not isinstance(a, list) or not isinstance(b, list) or len(a) != len(b):
        return a == b
    return all(len(x) == len(y) and all(
        math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9) if isinstance(u, float) and isinstance(v, float) else u == v
        for u, v in zip(x, y)) for x, y in zip(a, b))


def money_per_period(warehouse: Path, table: str) -> dict[str, tuple]:
    """Rows and every money column of a mart summed per period, to the cent."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        money = [c for c, t in con.execute(f"select column_name, data_type from information_schema.columns "
                                           f"where table_schema = 'marts' and table_name = '{table}'").fetchall()
                 if t == "DOUBLE" and c.endswith("cost")]
        sums = ", ".join(f"round(sum({c}), 2)" for c in money)
        return {r[0]: r[1:] for r in con.execute(
            f"select strftime(billing_period, '%Y-%m'), count(*), {sums} from marts.{table} group by 1").fetchall()}


def warehouse_runs(settings: Settings) -> list[dict[str, str]]:
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        return [dict(r.dagster_run.tags) for r in instance.get_run_records(dg.RunsFilter(job_name="build_warehouse"))]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("incremental")
    exports = tmp_path / "exports"
    write_sample_exports(exports, periods=PERIODS, rows_per_period=1500, seed=5)
    settings = dataclasses.replace(Settings.from_env(), data_dir=tmp_path / "data", export_uri=str(exports),
                                   duckdb_threads=2, duckdb_memory_limit="2GB")
    previous = dict(os.environ)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    try:
        assert run_build(settings) == PERIODS
        yield settings, exports
    finally:
        os.environ.clear()
        os.environ.update(previous)


def test_nothing_changed_is_up_to_date_and_runs_no_warehouse_job(warehouse, capfd):
    settings, _ = warehouse
    runs_before = len(warehouse_runs(settings))
    stamp = settings.warehouse_path.stat().st_mtime_ns
    capfd.readouterr()
    run_build(settings)
    out = capfd.readouterr().out  # the progress display writes to the terminal (sys.__stdout__)
    assert "3 billing period(s) unchanged since the last build: 2026-07, 2026-08, 2026-09" in out
    assert "up to date: no new delivery and no changed model or seed since the build of" in out
    assert len(warehouse_runs(settings)) == runs_before
    assert settings.warehouse_path.stat().st_mtime_ns == stamp


def test_a_new_delivery_of_the_last_month_rebuilds_that_month_alone(warehouse, tmp_path):
    settings, exports = warehouse
    before = period_snapshot(settings.warehouse_path)
    # another execution of September (seed 6): new files, new totals
    redelivered = write_sample_exports(exports, periods=["2026-09"], rows_per_period=900, seed=6)
    run_build(settings)

    [run] = [tags for tags in warehouse_runs(settings)
             if tags.get("dagster/asset_partition_range_start") == "2026-09"][:1]
    assert run["dagster/asset_partition_range_end"] == "2026-09"
    assert "finops/dbt_full_refresh" not in run
    after = period_snapshot(settings.warehouse_path)
    assert set(after) == set(before)
    for table in before:
        for period in ("2026-07", "2026-08"):
            assert rows_equal(after[table].get(period), before[table].get(period)), f"{table} {period} was rewritten"
    changed = [table for table in before if not rows_equal(after[table].get("2026-09"), before[table].get("2026-09"))]
    assert "intermediate.int_line_items_aggregated_daily" in changed and "marts.rpt_showback_monthly" in changed

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        billed, items = con.execute("select round(sum(billed_cost), 2), sum(line_item_count) "
                                    "from intermediate.int_line_items_aggregated_daily "
                                    "where billing_period = date '2026-09-01'").fetchone()
    assert billed == pytest.approx(round(sum(p.billed_cost for p in redelivered.periods), 2), abs=0.01)
    assert items == sum(p.line_item_count for p in redelivered.periods)

    # the line-item tests of that run checked September only
    results = sorted(DBT_PROJECT_DIR.glob("target/finops_dbt_models-*/run_results.json"), key=os.path.getmtime)
    compiled = [r["compiled_code"] for r in json.loads(results[-1].read_text())["results"]
                if r["unique_id"].startswith("test.finops.not_null_columns_int_line_items_unioned")]
    assert compiled and "cast('2026-09-01' as date)" in compiled[0] and "2026-08-01" not in compiled[0]

    # every partition of the marts is materialized, the rebuilt one included
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        materialized = instance.get_materialized_partitions(dg.AssetKey(["marts", "rpt_showback_monthly"]))
    assert set(PERIODS) <= materialized

    # the incremental result is the result of a build from scratch of the same landing files
    scratch = tmp_path / "scratch"
    shutil.copytree(settings.landing_dir, scratch / "landing")
    env = {**os.environ, "FINOPS_DATA_DIR": str(scratch), "DBT_TARGET_PATH": str(tmp_path / "target")}
    env.pop("FINOPS_BILLING_PERIODS", None)
    done = subprocess.run([str(Path(sys.executable).with_name("dbt")), "build", "--exclude-resource-type", "unit_test",
                           "--profiles-dir", ".", "--project-dir", "."], cwd=DBT_PROJECT_DIR, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    for mart in ("fct_chargeback_ledger", "rpt_showback_monthly", "rpt_allocation_completeness"):
        assert money_per_period(settings.warehouse_path, mart) == money_per_period(scratch / "warehouse.duckdb", mart)


@pytest.fixture
def recorded(tmp_path):
    """The state of a build recorded from the real manifest, and a copy of that manifest to edit."""
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    (tmp_path / "landing").mkdir()
    (tmp_path / "warehouse.duckdb").touch()
    record_build(tmp_path, manifest, DBT_PROJECT_DIR)
    return tmp_path, copy.deepcopy(manifest)


def planned_models(data_dir: Path, manifest: dict) -> set[str]:
    plan = plan_build(data_dir, manifest, DBT_PROJECT_DIR, warehouse_exists=True)
    assert not plan.full and not plan.periods
    # node names, not the last part of the id: a versioned model's id ends in its version (….v2)
    return {manifest["nodes"][uid]["name"] for uid in plan.changed_nodes if uid.startswith(("model.", "seed."))}


def test_an_unchanged_project_plans_nothing(recorded):
    data_dir, manifest = recorded
    plan = plan_build(data_dir, manifest, DBT_PROJECT_DIR, warehouse_exists=True)
    assert plan.up_to_date and plan.reasons == ()


def test_a_tag_alias_edit_rebuilds_from_the_daily_roll_up_never_the_line_items(recorded):
    data_dir, manifest = recorded
    manifest["nodes"]["seed.finops.tag_key_aliases"]["checksum"]["checksum"] = "edited"
    models = planned_models(data_dir, manifest)
    assert {"tag_key_aliases", "int_tag_maps_resolved", "int_line_items_counted_daily", "int_cost_allocated_daily",
            "rpt_showback_monthly", "fct_finops_kpis_monthly"} <= models
    assert not models & {"int_line_items_aggregated_daily", "int_line_items_tag_maps", "int_line_items_unioned",
                         "stg_aws_cur__cur2_line_items", "int_export_coverage_ranked"}


def test_an_allocation_rule_edit_reallocates_without_rebuilding_the_daily_roll_up(recorded):
    data_dir, manifest = recorded
    manifest["nodes"]["seed.finops.allocation_rules"]["checksum"]["checksum"] = "edited"
    models = planned_models(data_dir, manifest)
    assert {"int_allocation_keys_resolved", "int_cost_owners_resolved", "int_cost_allocated_daily"} <= models
    assert not models & {"int_line_items_counted_daily", "int_line_items_aggregated_daily", "int_tag_maps_resolved"}


def test_a_macro_edit_rebuilds_the_models_that_call_it(recorded):
    data_dir, manifest = recorded
    [map_key] = [uid for uid in manifest["macros"] if uid == "macro.finops.map_key"]
    manifest["macros"][map_key]["macro_sql"] += "\n-- edited"
    models = planned_models(data_dir, manifest)
    assert {"int_line_items_aggregated_daily", "int_line_items_tag_maps"} <= models
    assert "stg_aws_cur__cur2_line_items" not in models
