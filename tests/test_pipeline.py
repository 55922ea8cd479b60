"""End to end: exports in moto's S3 -> Dagster landing assets -> dbt build -> marts.

These run the real path `finops build` runs (Dagster jobs in-process, dbt as a
subprocess, DuckDB files) and check money to the cent against independent
figures: the generator's own sums, and the known totals of the real samples.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.cli import main, run_build
from orchestration.sample_data import write_sample_exports
from orchestration.settings import DBT_PROJECT_DIR, Settings
from tests.conftest import upload_folder
from tests.export_builders import arrange_samples

PERIODS = ["2026-08", "2026-09"]


def settings_for(tmp_path, export_uri: str) -> Settings:
    return dataclasses.replace(Settings.from_env(), data_dir=tmp_path / "data", export_uri=export_uri,
                               duckdb_threads=2, duckdb_memory_limit="2GB")


def mart_totals(settings: Settings) -> dict[str, tuple[int, float, float]]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute("""
            select strftime(billing_period, '%Y-%m'), sum(line_item_count), round(sum(billed_cost), 2),
                   round(sum(effective_cost), 2)
            from marts.fct_cost_allocated_daily group by 1 order by 1""").fetchall()
    return {period: (items, billed, amortized) for period, items, billed, amortized in rows}


@pytest.fixture(scope="module")
def generated_org_build(tmp_path_factory, s3_endpoint):
    """A small generated organisation in S3: payer A as CUR 2.0 *and* FOCUS (a duplicate export), payer B as
    legacy CUR CSV; built once through Dagster + dbt."""
    import boto3

    tmp_path = tmp_path_factory.mktemp("org")
    exports = tmp_path / "exports"
    summary = write_sample_exports(exports, periods=PERIODS, rows_per_period=4000, seed=7,
                                   layout={"payer-a": ["cur2", "focus"], "payer-b": "cur_legacy_csv"},
                                   bucket="org-exports", prefix="billing")
    boto3.client("s3").create_bucket(Bucket="org-exports")
    upload_folder(exports, "org-exports", "billing")
    settings = settings_for(tmp_path, "s3://org-exports/billing")
    built = run_build(settings)
    return settings, summary, built


def test_build_loads_every_period_found_in_s3(generated_org_build):
    _, _, built = generated_org_build
    assert built == PERIODS


def test_mart_money_equals_the_exports_to_the_cent_without_double_counting_focus(generated_org_build):
    settings, summary, _ = generated_org_build
    expected = {}
    for figures in summary.periods:  # per payer and period, summed by the generator itself
        items, billed, amortized = expected.get(figures.period, (0, 0.0, 0.0))
        expected[figures.period] = (items + figures.line_item_count, billed + figures.billed_cost,
                                    amortized + figures.amortized_cost)
    actual = mart_totals(settings)
    assert set(actual) == set(PERIODS)
    for period in PERIODS:
        items, billed, amortized = expected[period]
        assert actual[period][0] == items
        assert actual[period][1] == pytest.approx(round(billed, 2), abs=0.005)
        assert actual[period][2] == pytest.approx(round(amortized, 2), abs=0.005)


def test_untagged_cost_equals_what_the_generator_left_untagged(generated_org_build):
    settings, summary, _ = generated_org_build
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        # lines without a team tag, taggable or not (the generator's count), billed basis
        untagged = con.execute("""select round(sum(billed_cost_without_team_tag), 2)
                                  from marts.rpt_allocation_completeness""").fetchone()[0]
    assert untagged == pytest.approx(round(summary.totals["untagged_billed_cost"], 2), abs=0.01)
    assert 0.15 < untagged / summary.totals["billed_cost"] < 0.35


def test_the_duplicate_focus_export_is_reported_not_counted(generated_org_build):
    settings, summary, _ = generated_org_build
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        overlaps = con.execute("select distinct export_name from intermediate.int_export_overlaps").fetchall()
    assert [row[0] for row in overlaps] and all(name.startswith("focus/") for (name,) in overlaps)


def test_rebuilding_is_idempotent(generated_org_build):
    settings, _, _ = generated_org_build
    before = mart_totals(settings)
    run_build(settings)
    assert mart_totals(settings) == before


def test_every_dbt_unit_test_passes_on_the_built_warehouse(generated_org_build, tmp_path):
    """The production build leaves dbt's unit tests out (they test SQL on fixtures); they run here."""
    settings, _, _ = generated_org_build
    env = {**os.environ, "FINOPS_DATA_DIR": str(settings.data_dir), "DBT_TARGET_PATH": str(tmp_path / "target")}
    command = [str(Path(sys.executable).with_name("dbt")), "--no-use-colors", "test", "--select", "test_type:unit",
               "--profiles-dir", ".", "--project-dir", "."]
    done = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]
    passed = re.search(r"PASS=(\d+) WARN=0 ERROR=0", done.stdout)
    assert passed and int(passed.group(1)) >= 21, done.stdout[-2000:]


def test_builds_are_recorded_in_the_dagster_instance_the_ui_reads(generated_org_build):
    settings, _, _ = generated_org_build
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        partitions = {r.tags.get("dagster/partition") for r in runs if r.job_name == "load_billing_period"}
        assert set(PERIODS) <= partitions and any(r.job_name == "build_warehouse" for r in runs)
        event = instance.get_latest_materialization_event(dg.AssetKey(["landing", "cur2"]))
        assert event is not None and event.dagster_event.partition in PERIODS


@pytest.mark.real_samples
def test_real_samples_build_through_s3_with_exact_totals(tmp_path, samples_dir, s3_endpoint):
    import boto3

    arrange_samples(samples_dir, tmp_path / "exports", bucket="samples-bucket")
    boto3.client("s3").create_bucket(Bucket="samples-bucket")
    upload_folder(tmp_path / "exports", "samples-bucket")
    settings = settings_for(tmp_path, "s3://samples-bucket")

    run_build(settings)

    totals = mart_totals(settings)
    assert totals["2018-10"] == (119_307, 4064.48, 4195.96)
    assert totals["2023-11"] == (1_281, 1.68, 1.68)
    assert totals["2024-09"][:2] == (1_000, 20.52)


def test_cli_build_names_the_bad_file_and_exits_non_zero(tmp_path, monkeypatch, capsys):
    from tests.export_builders import write_data_export

    exports = tmp_path / "exports"
    write_data_export(exports, "cur2-export", "2024-01", {"part-1.parquet": b"garbage"}, execution_id="e1")
    monkeypatch.setenv("FINOPS_DATA_DIR", str(tmp_path / "data"))
    code = main(["build", "--export-uri", str(exports)])
    assert code == 1
    assert "part-1.parquet: cannot read this cur2 data file" in capsys.readouterr().err
