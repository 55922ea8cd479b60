"""Great Expectations suites as Dagster asset checks: evidence, verdicts, and what `finops build` says."""

import dataclasses
import gzip
import json
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration import checks
from orchestration.cli import main, run_build
from orchestration.sample_data import write_sample_exports
from orchestration.settings import Settings

PERIOD = "2026-05"


def write_landing(landing_dir: Path, rows: list[tuple]) -> None:
    """A hand-made cur2 landing file: (line item id, time interval, usage start, unblended cost)."""
    folder = landing_dir / "cur2" / f"billing_period={PERIOD}"
    folder.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute("create table t (identity_line_item_id varchar, identity_time_interval varchar, "
                    "bill_payer_account_id varchar, line_item_usage_account_id varchar, "
                    "line_item_line_item_type varchar, line_item_usage_start_date timestamp, "
                    "line_item_unblended_cost double, _delivery_id varchar)")
        for line_id, interval, start, cost in rows:
            con.execute("insert into t values (?, ?, '111122223333', '111122223333', 'Usage', ?, ?, 'exec-1')",
                        [line_id, interval, start, cost])
        con.execute(f"copy t to '{folder / 'payer-a.parquet'}' (format parquet)")


def test_landing_profile_flags_dates_outside_the_period_duplicate_ids_and_null_costs(tmp_path):
    write_landing(tmp_path, [
        ("a", "2026-05-01/2026-05-02", "2026-05-01 00:00", 1.0),
        ("a", "2026-05-01/2026-05-02", "2026-05-01 00:00", 2.0),  # same line item, same interval
        ("b", "2026-04-30/2026-05-01", "2026-04-30 00:00", 3.0),  # the previous month
        ("c", "2026-05-31/2026-06-01", "2026-05-31 23:00", None),
    ])
    profile = checks.landing_profile(tmp_path, "cur2", PERIOD)
    row = profile.iloc[0]
    assert (row.row_count, row.duplicate_line_item_ids, row.usage_outside_period, row.null_cost_values) == (4, 1, 1, 1)
    assert row.missing_required_columns == 0

    outcome = checks.validate(checks.LANDING_SUITE, profile, tmp_path / "data")
    assert not outcome.success
    assert outcome.failing_rows == ["payer-a"]
    assert {f.column for f in outcome.failures} == {"duplicate_line_item_ids", "usage_outside_period", "null_cost_values"}
    assert (tmp_path / "data" / "docs" / "index.html").exists()


def evidence(**overrides) -> pd.DataFrame:
    row = {"billing_period": PERIOD, "billed_cost_difference": 0.0, "effective_cost_difference": 0.004,
           "null_dimension_rows": 0, "undistributed_shared_cost": 0.0, "untagged_cost_pct": 8.0,
           "untagged_cost_target_pct": 10.0}
    return pd.DataFrame([row | overrides])


@pytest.mark.parametrize("column, value", [("billed_cost_difference", 0.02), ("effective_cost_difference", -0.5),
                                           ("null_dimension_rows", 3), ("undistributed_shared_cost", 12.5)])
def test_allocation_completeness_fails_naming_the_period_beyond_a_cent(tmp_path, column, value):
    assert checks.validate(checks.ALLOCATION_SUITE, evidence(), tmp_path).success
    outcome = checks.validate(checks.ALLOCATION_SUITE, evidence(**{column: value}), tmp_path)
    assert not outcome.success
    assert [(f.column, f.row, f.observed) for f in outcome.failures] == [(column, PERIOD, value)]


def test_untagged_spend_is_compared_with_the_kpi_target(tmp_path):
    assert checks.validate(checks.UNTAGGED_SUITE, evidence(untagged_cost_pct=10.0), tmp_path).success
    outcome = checks.validate(checks.UNTAGGED_SUITE, evidence(untagged_cost_pct=12.5), tmp_path)
    assert not outcome.success and outcome.failing_rows == [PERIOD]


# ---------------------------------------------------------------------------------------------
# End to end: the checks run in the same Dagster jobs `finops build` runs
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_org(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("checks")
    exports = tmp_path / "exports"
    write_sample_exports(exports, periods=[PERIOD], rows_per_period=3000, seed=11,
                         layout={"payer-a": "cur2", "payer-b": "cur_legacy_csv"})
    settings = dataclasses.replace(Settings.from_env(), data_dir=tmp_path / "data", export_uri=str(exports),
                                   duckdb_threads=2, duckdb_memory_limit="1GB")
    run_build(settings)
    return settings, exports


def latest_check(key: dg.AssetCheckKey):
    with dg.DagsterInstance.get() as instance:
        records = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
    assert records, f"{key.to_user_string()} never ran"
    return records[0].event.dagster_event.event_specific_data


def test_build_runs_the_suites_as_asset_checks_and_writes_data_docs(small_org):
    settings, _ = small_org
    allocated = dg.AssetKey(["marts", "fct_cost_allocated_daily"])
    completeness = latest_check(dg.AssetCheckKey(allocated, "allocation_completeness"))
    assert completeness.passed and completeness.severity == dg.AssetCheckSeverity.ERROR
    untagged = latest_check(dg.AssetCheckKey(allocated, "untagged_spend_within_target"))
    assert untagged.severity == dg.AssetCheckSeverity.WARN  # the generator leaves ~25% untagged: a warning only
    landing = latest_check(dg.AssetCheckKey(dg.AssetKey(["landing", "cur2"]), "landing_profile_expectations"))
    assert landing.passed and landing.partition == PERIOD
    assert (settings.data_dir / "docs" / "index.html").exists()


def _redeliver_payer_b(exports: Path, assembly_id: str, edit) -> None:
    """Re-deliver payer B's legacy CSV with ``edit(lines, header)`` applied to its text lines."""
    csv_file = next(exports.rglob("*.csv.gz"))
    with gzip.open(csv_file, "rt", newline="") as handle:
        lines = handle.read().split("\n")
    edit(lines, lines[0].split(","))
    with gzip.open(csv_file, "wt", newline="") as handle:
        handle.write("\n".join(lines))
    manifest = next(csv_file.parents[1].glob("*-Manifest.json"))
    content = json.loads(manifest.read_text())
    content["assemblyId"] = assembly_id
    manifest.write_text(json.dumps(content))


def _published_billed(settings: Settings) -> float:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute("select round(sum(canonical_billed_cost), 2) from marts.rpt_allocation_completeness"
                           ).fetchone()[0]


def test_a_refused_redelivery_never_reaches_the_warehouse_and_a_blocking_check_names_check_and_period(
        small_org, monkeypatch, capsys):
    settings, exports = small_org
    monkeypatch.setenv("FINOPS_DATA_DIR", str(settings.data_dir))
    billed_before = _published_billed(settings)
    landed = next((settings.landing_dir / "cur_legacy" / f"billing_period={PERIOD}").glob("*.parquet"))
    landed_bytes = landed.read_bytes()

    # 1. a re-delivery whose first line item claims usage in an earlier month: refused before the swap,
    #    so the landed file stays byte for byte and the build that follows publishes the previous numbers.
    original_first_line = []

    def usage_in_april(lines, header):
        original_first_line.append(lines[1])
        cells = lines[1].split(",")
        cells[header.index("lineItem/UsageStartDate")] = "2026-04-15T00:00:00Z"
        lines[1] = ",".join(cells)

    _redeliver_payer_b(exports, "redelivered-1", usage_in_april)
    assert main(["build", "--export-uri", str(exports)]) == 1
    err = capsys.readouterr().err
    assert f"finops: error: landing of {PERIOD} failed: " in err  # the only period: nothing is rebuilt
    assert ("delivery redelivered-1 of cur_legacy/acme-cur-payer-b for 2026-05 refused: 1 line item(s) start outside "
            "billing period 2026-05. The previously landed delivery (if any) is kept") in err
    assert landed.read_bytes() == landed_bytes
    assert _published_billed(settings) == billed_before

    # 2. a re-delivery repeating a line item: landed (the loader does not count duplicates), then the
    #    blocking landing check fails and names the check and the period.
    def restore_and_repeat_first_line(lines, header):
        lines[1] = original_first_line[0]
        lines.insert(2, lines[1])

    _redeliver_payer_b(exports, "redelivered-2", restore_and_repeat_first_line)
    assert main(["build", "--export-uri", str(exports)]) == 1
    err = capsys.readouterr().err
    assert "landing/cur_legacy:landing_profile_expectations" in err
    assert f"billing period {PERIOD}" in err
    assert "duplicate_line_item_ids" in err
