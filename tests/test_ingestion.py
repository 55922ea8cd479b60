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
