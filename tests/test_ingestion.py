"""Landing exports: discovery, atomic replacement, the real samples, and every kind of bad input.

Most tests go through moto's S3 server with real boto3 calls; bad-input tests
first land a good delivery, then check the bad one is refused with a message
naming the file and leaves the landed data exactly as it was.
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import duckdb
import pytest

from orchestration.ingestion.errors import IngestionError, NoExportsFoundError, UnsafeKeyError
from orchestration.ingestion.landing import load_exports
from tests.conftest import upload_folder
from tests.export_builders import (
    LEGACY_CSV_REQUIRED_HEADER,
    arrange_samples,
    cur2_row,
    write_data_export,
    write_legacy_csv_export,
)


def landed(landing: Path, fmt: str, period: str) -> tuple[int, float, list[str]]:
    """(line items, billed cost, delivery ids) landed for a format and period."""
    files = list((landing / fmt / f"billing_period={period}").glob("*.parquet"))
    if not files:
        return 0, 0.0, []
    cost = "line_item_unblended_cost" if fmt != "focus" else "BilledCost"
    paths = [str(f) for f in files]
    count, billed = duckdb.sql(f"select count(*), round(sum({cost}), 2) from read_parquet({paths})").fetchone()
    ids = sorted(r[0] for r in duckdb.sql(f"select distinct _delivery_id from read_parquet({paths})").fetchall())
    return count, billed, ids


def two_rows_delivery(root: Path, execution_id: str = "exec-1", cost_b: float = 2.5) -> None:
    write_data_export(root, "cur2-export", "2024-01", {
        "part-00001.parquet": [cur2_row("a", 1.25, tags={"user_Team": "checkout"}),
                               cur2_row("b", cost_b)],
    }, execution_id=execution_id)


# --- the real samples, through S3 -------------------------------------------------------------------

@pytest.mark.real_samples
def test_real_samples_land_through_s3_with_exact_totals(tmp_path, samples_dir, s3_bucket):
    arrange_samples(samples_dir, tmp_path / "exports", bucket=s3_bucket, prefix="billing")
    upload_folder(tmp_path / "exports", s3_bucket, "billing")
    landing = tmp_path / "landing"

    results = load_exports(f"s3://{s3_bucket}/billing", landing)

    assert {(r.format, r.billing_period, r.status) for r in results} == {
        ("cur_legacy", "2018-10", "loaded"), ("cur_legacy", "2023-11", "loaded"), ("focus", "2024-09", "loaded")}
    assert landed(landing, "cur_legacy", "2018-10")[:2] == (119_307, 4064.48)
    assert landed(landing, "cur_legacy", "2023-11")[:2] == (1_281, 1.68)
    assert landed(landing, "focus", "2024-09")[:2] == (1_000, 20.52)
    # legacy one-column-per-tag is folded into the resource_tags map, keyed by the tag key
    tags = duckdb.sql(f"""select resource_tags from
        '{landing}/cur_legacy/billing_period=2018-10/workshop.parquet'
        where identity_line_item_id = 't6u2yvbgsx6ssj7eacamatkptxypztgljtnhxyzuc7xgsfk7dnwa'
        and line_item_usage_start_date = '2018-10-01 00:00:00' limit 1""").fetchone()[0]
    assert tags["user_cost_center"] == "Cost001" and tags["user_environment"] == "Production"
    # FOCUS tags arrive as a JSON object and land as a map
    focus_tags = duckdb.sql(f"""select Tags from '{landing}/focus/billing_period=2024-09/*.parquet'
        where ResourceId like '%tungsten-lonbmuenle-amf%' limit 1""").fetchone()[0]
    assert focus_tags == {"application": "BrightLensMatrix", "environment": "dev", "business_unit": "ViennaAI"}


def test_landing_the_same_delivery_twice_keeps_one_copy(tmp_path, s3_bucket):
    two_rows_delivery(tmp_path / "exports")
    upload_folder(tmp_path / "exports", s3_bucket)
    landing = tmp_path / "landing"

    first = load_exports(f"s3://{s3_bucket}", landing)
    second = load_exports(f"s3://{s3_bucket}", landing)

    assert [r.status for r in first] == ["loaded"] and [r.status for r in second] == ["unchanged"]
    assert landed(landing, "cur2", "2024-01") == (2, 3.75, ["exec-1"])


def test_a_newer_delivery_replaces_the_period(tmp_path, s3_bucket):
    two_rows_delivery(tmp_path / "exports", "exec-1")
    upload_folder(tmp_path / "exports", s3_bucket)
    landing = tmp_path / "landing"
    load_exports(f"s3://{s3_bucket}", landing)

    # AWS restates the month: a new execution whose manifest lists a new file; the old file stays in the folder
    write_data_export(tmp_path / "exports2", "cur2-export", "2024-01", {
        "part-00002.parquet": [cur2_row("a", 1.25), cur2_row("b", 2.5), cur2_row("c", 10.0)],
    }, execution_id="exec-2")
    upload_folder(tmp_path / "exports2", s3_bucket)
    results = load_exports(f"s3://{s3_bucket}", landing)

    assert [(r.status, r.delivery_id) for r in results] == [("loaded", "exec-2")]
    assert landed(landing, "cur2", "2024-01") == (3, 13.75, ["exec-2"])
    assert sorted(p.name for p in (landing / "cur2" / "billing_period=2024-01").iterdir()) == [
        "cur2-export.delivery.json", "cur2-export.parquet"]


def test_legacy_csv_schema_changing_between_months_lands_both(tmp_path, s3_bucket):
    base = LEGACY_CSV_REQUIRED_HEADER
    write_legacy_csv_export(tmp_path / "exports", "cur", "2024-01", base + ["resourceTags/user:Team"],
                            [["x1", "111122223333", "222233334444", "Usage", "2024-01-02T00:00:00Z", "4.5",
                              "search"]], assembly_id="asm-jan")
    write_legacy_csv_export(tmp_path / "exports", "cur", "2024-02", base + ["resourceTags/user:cost-center"],
                            [["x2", "111122223333", "222233334444", "Usage", "2024-02-02T00:00:00Z", "1.5",
                              "CC-1"]], assembly_id="asm-feb")
    upload_folder(tmp_path / "exports", s3_bucket)
    landing = tmp_path / "landing"

    load_exports(f"s3://{s3_bucket}", landing)

    rows = duckdb.sql(f"""select _billing_period::varchar, resource_tags, line_item_usage_start_date::varchar
        from '{landing}/cur_legacy/**/*.parquet' order by 1""").fetchall()
    assert rows == [("2024-01-01", {"user:Team": "search"}, "2024-01-02 00:00:00"),
                    ("2024-02-01", {"user:cost-center": "CC-1"}, "2024-02-02 00:00:00")]


def test_legacy_csv_tag_columns_differing_only_in_case_stay_separate_tags(tmp_path):
    header = LEGACY_CSV_REQUIRED_HEADER + ["resourceTags/user:Team", "resourceTags/user:team", "resourceTags/user:TEAM"]
    write_legacy_csv_export(tmp_path / "exports", "cur", "2024-01", header, [
        ["x1", "111122223333", "222233334444", "Usage", "2024-01-02T00:00:00Z", "1", "search", "", ""],
        ["x2", "111122223333", "222233334444", "Usage", "2024-01-02T00:00:00Z", "2", "", "payments", ""],
        ["x3", "111122223333", "222233334444", "Usage", "2024-01-02T00:00:00Z", "3", "", "", "identity"],
    ], assembly_id="asm-1")
    load_exports(str(tmp_path / "exports"), tmp_path / "landing")
    rows = duckdb.sql(f"""select identity_line_item_id, resource_tags
        from '{tmp_path}/landing/cur_legacy/**/*.parquet' order by 1""").fetchall()
    assert rows == [("x1", {"user:Team": "search"}), ("x2", {"user:team": "payments"}),
                    ("x3", {"user:TEAM": "identity"})]


def test_unknown_line_item_types_load(tmp_path):
    write_data_export(tmp_path / "exports", "cur2-export", "2024-01", {
        "part-00001.parquet": [cur2_row("a", 3.0, line_item_type="SomethingAwsInventsNext")]},
        execution_id="e1")
    load_exports(str(tmp_path / "exports"), tmp_path / "landing")
    assert landed(tmp_path / "landing", "cur2", "2024-01")[:2] == (1, 3.0)


@pytest.mark.real_samples
def test_athena_layout_update_in_progress_keeps_the_landed_month(tmp_path, samples_dir):
    import pyarrow as pa
    import pyarrow.parquet as pq

    exports = tmp_path / "exports"
    arrange_samples(samples_dir, exports)
    landing = tmp_path / "landing"
    load_exports(str(exports), landing, periods=["2018-10"])
    status_dir = exports / "workshop" / "cost_and_usage_data_status"
    status_dir.mkdir(parents=True)
    pq.write_table(pa.table({"status": ["UPDATE_IN_PROGRESS"]}), status_dir / "cost_and_usage_data_status.parquet")
    # AWS is rewriting the month in place: a half-written second file appears
    (exports / "workshop" / "workshop" / "year=2018" / "month=10" / "part-2.snappy.parquet").write_bytes(b"PAR1")

    results = load_exports(str(exports), landing, periods=["2018-10"])

    assert [r.status for r in results] == ["not_ready"]
    assert landed(landing, "cur_legacy", "2018-10")[:2] == (119_307, 4064.48)


def test_credentials_never_appear_in_logs(tmp_path, s3_bucket, caplog):
    two_rows_delivery(tmp_path / "exports")
    upload_folder(tmp_path / "exports", s3_bucket)
    with caplog.at_level(logging.DEBUG):
        load_exports(f"s3://{s3_bucket}", tmp_path / "landing")
    assert caplog.records, "the loader logs what it lands"
    assert "moto-secret-never-logged" not in caplog.text


# --- bad input: a clear error naming the file, and the landed data untouched --------------------------

@pytest.fixture
def landed_good_delivery(tmp_path):
    exports = tmp_path / "exports"
    two_rows_delivery(exports, "exec-good")
    landing = tmp_path / "landing"
    load_exports(str(exports), landing)
    assert landed(landing, "cur2", "2024-01") == (2, 3.75, ["exec-good"])
    return exports, landing


def assert_untouched(landing: Path) -> None:
    assert landed(landing, "cur2", "2024-01") == (2, 3.75, ["exec-good"])
    leftovers = [p for p in landing.rglob("*") if p.name.endswith(".tmp") or ".incoming" in p.parts and p.is_file()]
    assert leftovers == []


def test_corrupt_parquet_is_refused_and_named(landed_good_delivery):
    exports, landing = landed_good_delivery
    write_data_export(exports, "cur2-export", "2024-01", {"part-00009.parquet": b"PAR1 this is not parquet"},
                      execution_id="exec-bad")
    with pytest.raises(IngestionError, match=r"part-00009\.parquet: cannot read this cur2 data file .*corrupt"):
        load_exports(str(exports), landing)
    assert_untouched(landing)


def test_truncated_csv_gz_is_refused_and_named(tmp_path):
    exports = tmp_path / "exports"
    header = LEGACY_CSV_REQUIRED_HEADER
    rows = [[f"id{i}", "111122223333", "222233334444", "Usage", "2024-01-02T00:00:00Z", "1.0"] for i in range(2000)]
    write_legacy_csv_export(exports, "cur", "2024-01", header, rows, assembly_id="asm-1")
    landing = tmp_path / "landing"
    load_exports(str(exports), landing)
    good = gzip.compress(("\n".join(",".join(r) for r in [header] + rows) + "\n").encode())
    write_legacy_csv_export(exports, "cur", "2024-01", header, [], assembly_id="asm-2",
                            raw_gzip=good[: len(good) // 2])
    with pytest.raises(IngestionError, match=r"asm-2/cur-1\.csv\.gz: the gzip stream ends early, the file is truncated"):
        load_exports(str(exports), landing)
    assert landed(landing, "cur_legacy", "2024-01")[:3] == (2000, 2000.0, ["asm-1"])


def test_manifest_naming_a_missing_file_is_refused(landed_good_delivery):
    exports, landing = landed_good_delivery
    write_data_export(exports, "cur2-export", "2024-01", {}, execution_id="exec-bad",
                      manifest_files=["part-00001.parquet", "part-00002.parquet"])
    with pytest.raises(IngestionError, match=r"Manifest\.json: manifest lists data file .*part-00002\.parquet "
                                             r"which does not exist"):
        load_exports(str(exports), landing)
    assert_untouched(landing)


def test_missing_required_column_is_refused_and_named(landed_good_delivery):
    import pyarrow as pa

    exports, landing = landed_good_delivery
    schema = pa.schema([f for f in __import__("tests.export_builders").export_builders.CUR2_TEST_SCHEMA
                        if f.name != "line_item_unblended_cost"])
    row = {k: v for k, v in cur2_row("z", 0).items() if k != "line_item_unblended_cost"}
    write_data_export(exports, "cur2-export", "2024-01", {"part-00003.parquet": [row]}, execution_id="exec-bad",
                      schema=schema)
    with pytest.raises(IngestionError, match=r"part-00003\.parquet: required column\(s\) line_item_unblended_cost "
                                             r"missing from this cur2 delivery"):
        load_exports(str(exports), landing)
    assert_untouched(landing)


def test_non_numeric_cost_is_refused_with_file_row_and_column(tmp_path):
    exports = tmp_path / "exports"
    header = LEGACY_CSV_REQUIRED_HEADER
    good = [["a", "111122223333", "222233334444", "Usage", "2024-01-02T00:00:00Z", "1.0"]]
    write_legacy_csv_export(exports, "cur", "2024-01", header, good, assembly_id="asm-1")
    landing = tmp_path / "landing"
    load_exports(str(exports), landing)
    bad = good + [["b", "111122223333", "222233334444", "Usage", "2024-01-02T01:00:00Z", "12,5 USD"]]
    write_legacy_csv_export(exports, "cur", "2024-01", header, bad, assembly_id="asm-2")
    with pytest.raises(IngestionError, match=r"asm-2/cur-1\.csv\.gz: column 'lineItem/UnblendedCost', data row 2: "
                                             r"'12,5 USD' is not a number"):
        load_exports(str(exports), landing)
    assert landed(landing, "cur_legacy", "2024-01")[:3] == (1, 1.0, ["asm-1"])


def test_manifest_key_escaping_the_export_folder_is_refused(landed_good_delivery):
    exports, landing = landed_good_delivery
    write_data_export(exports, "cur2-export", "2024-01", {}, execution_id="exec-bad",
                      manifest_files=["../../../../etc/passwd"])
    with pytest.raises(UnsafeKeyError, match=r"contains '\.\.' and would escape"):
        load_exports(str(exports), landing)
    assert_untouched(landing)


def test_folder_with_nothing_recognisable_is_refused(tmp_path):
    (tmp_path / "exports" / "misc").mkdir(parents=True)
    (tmp_path / "exports" / "misc" / "notes.txt").write_text("hello")
    with pytest.raises(NoExportsFoundError, match=r"no CUR 2\.0, legacy CUR or FOCUS export found \(saw 1 files: "
                                                  r"misc/notes\.txt\)"):
        load_exports(str(tmp_path / "exports"), tmp_path / "landing")


def test_manifest_that_is_not_json_is_refused(landed_good_delivery):
    exports, landing = landed_good_delivery
    manifest = exports / "cur2-export" / "metadata" / "BILLING_PERIOD=2024-01" / "cur2-export-Manifest.json"
    manifest.write_text(json.dumps({"executionId": "x"})[:-3])
    with pytest.raises(IngestionError, match=r"cur2-export-Manifest\.json: manifest is not valid JSON"):
        load_exports(str(exports), landing)
    assert_untouched(landing)


# --- one streaming pass: the same values, the same errors, bounded memory ----------------------------

def _csv_gz_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return gzip.compress(buffer.getvalue().encode())


def _legacy_row(i: int, cost: str = "1.0", start: str = "2024-01-02T00:00:00Z") -> list[str]:
    return [f"id{i}", "111122223333", "222233334444", "Usage", start, cost]


def _add_second_csv_file(manifest: Path, rows: list[list[str]]) -> None:
    """Turn a one-file legacy CSV delivery into a two-file one (``<report>-2.csv.gz``)."""
    data = json.loads(manifest.read_text())
    first = data["reportKeys"][0]
    second = first.replace("-1.csv.gz", "-2.csv.gz")
    (manifest.parent / data["assemblyId"] / Path(second).name).write_bytes(
        _csv_gz_bytes(LEGACY_CSV_REQUIRED_HEADER, rows))
    data["reportKeys"].append(second)
    manifest.write_text(json.dumps(data))


TRICKY_TEXT = ["1.5", " 1.5 ", "\t1.5\n", "\u00a01.5\u3000", "1e3", "-0", "+1", ".5", "5.", "1_000", "NaN", "inf",
               "", " ", "\t", "\u00a0", "abc", "1,5", "12,5 USD", "0x10",
               "2025-01-01T00:00:00.000Z", " 2025-01-01T00:00:00Z ", "\u00a02025-01-01T00:00:00Z",
               "2025-01-01 10:00:00+02:00", "2025-01-01 10:00:00-0530", "2025-01-01 10:00:00 Europe/Paris",
               "  2025-01-01 10:00:00 EST ", "2025-01-01", "2025-01-01T10:00:00.123456789Z", "2025-01-01T25:00:00Z",
               "infinity", "-infinity", "epoch", "0001-01-01 00:00:00+01", "2025-13-01", None]


@pytest.mark.parametrize("target", ["DOUBLE", "TIMESTAMP"])
def test_text_converts_exactly_like_the_trimmed_cast(tmp_path, target):
    """The faster conversions give the value (and flag the bad values) the plain trimmed casts do."""
    from orchestration.ingestion.conform import _cast
    from orchestration.ingestion.landing import _connect

    reference = {"DOUBLE": "TRY_CAST(NULLIF(trim(x), '') AS DOUBLE)",
                 "TIMESTAMP": "CAST(TRY_CAST(NULLIF(trim(x), '') AS TIMESTAMPTZ) AS TIMESTAMP)"}[target]
    expr, bad = _cast("x", "VARCHAR", target)
    with _connect(1, "256MB", tmp_path / "spill") as con:
        con.execute("CREATE TABLE t (x VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?)", [[v] for v in TRICKY_TEXT])
        rows = con.execute(f"SELECT x, {expr}, {reference}, {bad}, "
                           f"(x IS NOT NULL AND trim(x) <> '' AND {reference} IS NULL) FROM t").fetchall()
    for x, value, expected, flagged, expected_flag in rows:
        assert (value, flagged) == (expected, expected_flag) or (value != value and expected != expected), x
    assert any(flagged for *_, flagged, _ in rows) and any(v is not None for _, v, *_ in rows)


def test_timestamp_with_time_zone_columns_land_as_their_utc_time(tmp_path):
    from orchestration.ingestion.conform import _cast
    from orchestration.ingestion.landing import _connect

    expr, bad = _cast("t", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP")
    assert bad is None
    with _connect(1, "256MB", tmp_path / "spill") as con:
        differing = con.execute(f"""
            WITH v AS (SELECT make_timestamptz((random() * 2e17 - 1e17)::BIGINT) AS t FROM range(20000)
                       UNION ALL SELECT unnest(['infinity'::TIMESTAMPTZ, '-infinity', '2024-02-29 23:59:59.999999+00',
                                                '1969-12-31 23:59:59+00', NULL]))
            SELECT count(*) FROM v WHERE ({expr}) IS DISTINCT FROM CAST(t AS TIMESTAMP)""").fetchone()[0]
    assert differing == 0


def test_bad_value_late_in_the_second_file_is_named_with_its_row_and_nothing_lands(tmp_path):
    exports, landing = tmp_path / "exports", tmp_path / "landing"
    write_legacy_csv_export(exports, "cur", "2024-01", LEGACY_CSV_REQUIRED_HEADER,
                            [_legacy_row(i) for i in range(10)], assembly_id="asm-1")
    load_exports(str(exports), landing)
    manifest = write_legacy_csv_export(exports, "cur", "2024-01", LEGACY_CSV_REQUIRED_HEADER,
                                       [_legacy_row(i) for i in range(3000)], assembly_id="asm-2")
    second = [_legacy_row(i) for i in range(3000)]
    second[2499] = _legacy_row(2499, start="yesterday")
    second[2700] = _legacy_row(2700, start="2024-01-02 25:00")
    _add_second_csv_file(manifest, second)

    with pytest.raises(IngestionError, match=r"asm-2/cur-2\.csv\.gz: column 'lineItem/UsageStartDate', data row "
                                             r"2500: 'yesterday' is not a timestamp \(2 such value\(s\) in this "
                                             r"delivery\)\. Fix the export or re-deliver the period"):
        load_exports(str(exports), landing)
    assert landed(landing, "cur_legacy", "2024-01")[:3] == (10, 10.0, ["asm-1"])
    assert not [p for p in landing.rglob("*") if p.name.endswith(".tmp") or ".incoming" in p.parts and p.is_file()]

    # the same delivery, fixed, lands whole
    second[2499], second[2700] = _legacy_row(2499), _legacy_row(2700)
    (manifest.parent / "asm-2" / "cur-2.csv.gz").write_bytes(_csv_gz_bytes(LEGACY_CSV_REQUIRED_HEADER, second))
    load_exports(str(exports), landing)
    assert landed(landing, "cur_legacy", "2024-01")[:3] == (6000, 6000.0, ["asm-2"])


def test_truncated_gzip_is_reported_before_a_bad_value_it_holds(tmp_path):
    exports, landing = tmp_path / "exports", tmp_path / "landing"
    rows = [_legacy_row(i, cost="not a number" if i == 3 else "1.0") for i in range(5000)]
    good = _csv_gz_bytes(LEGACY_CSV_REQUIRED_HEADER, rows)
    write_legacy_csv_export(exports, "cur", "2024-01", LEGACY_CSV_REQUIRED_HEADER, [], assembly_id="asm-1",
                            raw_gzip=good[: len(good) * 2 // 3])
    with pytest.raises(IngestionError, match=r"asm-1/cur-1\.csv\.gz: the gzip stream ends early, the file is truncated"):
        load_exports(str(exports), landing)
    # DuckDB alone would load the readable part of such a file without complaint
    assert landed(landing, "cur_legacy", "2024-01")[0] == 0


def test_gzip_missing_only_its_trailer_is_refused(tmp_path):
    exports, landing = tmp_path / "exports", tmp_path / "landing"
    good = _csv_gz_bytes(LEGACY_CSV_REQUIRED_HEADER, [_legacy_row(i) for i in range(100)])
    write_legacy_csv_export(exports, "cur", "2024-01", LEGACY_CSV_REQUIRED_HEADER, [], assembly_id="asm-1",
                            raw_gzip=good[:-8])
    with pytest.raises(IngestionError, match=r"cur-1\.csv\.gz: the gzip stream ends early, the file is truncated"):
        load_exports(str(exports), landing)


def test_unparseable_csv_is_reported_before_its_missing_columns(tmp_path):
    exports, landing = tmp_path / "exports", tmp_path / "landing"
    header = LEGACY_CSV_REQUIRED_HEADER[:-1]  # no lineItem/UnblendedCost
    rows = [r[:-1] for r in (_legacy_row(i) for i in range(3000))]
    rows[2500] = rows[2500] + ["an", "extra", "field"]
    write_legacy_csv_export(exports, "cur", "2024-01", header, rows, assembly_id="asm-1")
    with pytest.raises(IngestionError, match=r"asm-1/cur-1\.csv\.gz: cannot read this cur_legacy data file .*corrupt"):
        load_exports(str(exports), landing)


def test_loader_runs_duckdb_with_the_configured_threads_memory_and_spill_folder(tmp_path, monkeypatch):
    import orchestration.ingestion.landing as landing_module

    seen = []
    connect = landing_module._connect

    def recording_connect(threads, memory_limit, temp_dir):
        con = connect(threads, memory_limit, temp_dir)
        seen.append(con.execute("SELECT current_setting('threads'), current_setting('memory_limit'), "
                                "current_setting('temp_directory')").fetchone())
        return con

    monkeypatch.setattr(landing_module, "_connect", recording_connect)
    monkeypatch.setenv("FINOPS_DUCKDB_THREADS", "1")
    monkeypatch.setenv("FINOPS_DUCKDB_MEMORY_LIMIT", "300MB")
    two_rows_delivery(tmp_path / "exports")
    landing = tmp_path / "landing"

    load_exports(str(tmp_path / "exports"), landing)

    [(threads, memory_limit, temp_dir)] = seen
    assert (int(threads), memory_limit) == (1, "286.1 MiB")
    assert Path(temp_dir).is_relative_to(landing / ".incoming")
    assert not [p for p in (landing / ".incoming").rglob("*") if p.is_file()]
    assert landed(landing, "cur2", "2024-01") == (2, 3.75, ["exec-1"])


LOAD_IN_CHILD = """
import sys
from pathlib import Path
from orchestration.ingestion.landing import load_exports
results = load_exports(sys.argv[1], Path(sys.argv[2]))
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(sum(r.line_items for r in results), peak_kb // 1024)
"""


def test_a_delivery_larger_than_the_memory_limit_lands_streaming_in_bounded_memory(tmp_path):
    """300k generated line items (CUR 2.0 parquet + legacy CSV.gz, ~0.5 GB as DuckDB values) under a
    512MB limit: the load streams and spills nothing; it used to take ~9x the time and twice the memory."""
    import os
    import subprocess
    import sys

    from orchestration.sample_data import write_sample_exports

    exports, landing = tmp_path / "exports", tmp_path / "landing"
    write_sample_exports(exports, periods=["2025-01"], rows_per_period=300_000, seed=3,
                         layout={"payer-a": ["cur2"], "payer-b": ["cur_legacy_csv"]})
    env = {**os.environ, "FINOPS_DUCKDB_THREADS": "2", "FINOPS_DUCKDB_MEMORY_LIMIT": "512MB"}
    proc = subprocess.Popen([sys.executable, "-c", LOAD_IN_CHILD, str(exports), str(landing)], env=env,
                            cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    output = proc.communicate(timeout=600)[0].decode(errors="replace")
    assert proc.returncode == 0, output[-2000:]
    line_items, peak_mb = map(int, output.split()[-2:])  # peak resident memory of the child (VmHWM)
    source_rows = duckdb.sql(f"select count(*) from '{exports}/**/*.parquet'").fetchone()[0] + duckdb.sql(
        f"select count(*) from read_csv('{exports}/**/*.csv.gz', all_varchar = true)").fetchone()[0]
    cur2, legacy = landed(landing, "cur2", "2025-01")[0], landed(landing, "cur_legacy", "2025-01")[0]
    assert cur2 + legacy == line_items == source_rows > 250_000
    assert peak_mb < 550, f"peak resident memory {peak_mb} MB"


def test_a_landing_folder_from_an_older_loader_reads_with_the_new_columns_as_null(tmp_path):
    """The landing contract gained the split cost allocation columns (issue 20): a folder landed by
    the previous loader gets a new schema file, so staging's union_by_name read has every column
    (NULL in the old files) until their deliveries are landed again."""
    from orchestration.ingestion.landing import ensure_landing_layout
    from orchestration.landing_schema import SCHEMAS

    landing = tmp_path / "landing"
    write_data_export(tmp_path / "exports", "cur2", "2024-01", {"part-1.parquet": [cur2_row("a", 1.25)]},
                      execution_id="exec-1")
    load_exports(str(tmp_path / "exports"), landing)
    old_columns = [c for c, _ in SCHEMAS["cur2"].landing_columns if not c.startswith("split_line_item_")]
    for parquet in (landing / "cur2").rglob("*.parquet"):  # as the previous loader wrote them
        duckdb.sql(f"copy (select {', '.join(old_columns)} from '{parquet}') to '{parquet}.old' (format parquet)")
        Path(f"{parquet}.old").replace(parquet)

    ensure_landing_layout(landing)

    row = duckdb.sql(f"""select count(*), sum(line_item_unblended_cost), count(split_line_item_split_cost)
                         from read_parquet('{landing}/cur2/**/*.parquet', union_by_name=true)""").fetchone()
    assert row == (1, 1.25, 0)
