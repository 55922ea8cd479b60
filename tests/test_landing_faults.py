"""Issue 15: a delivery that is refused never replaces what is landed, and each refusal says why.

Each test first lands a good delivery (2 line items, 3.75 billed), then offers a bad
re-delivery of the same export and period, and checks the exact message and that the
landed file is byte for byte what it was.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path

import pytest

from orchestration.cli import main
from orchestration.ingestion.errors import IngestionError
from orchestration.ingestion.landing import load_exports
from tests.export_builders import LEGACY_CSV_REQUIRED_HEADER, cur2_row, write_data_export, write_legacy_csv_export
from tests.test_ingestion import landed, two_rows_delivery


def landing_digest(landing: Path) -> dict[str, str]:
    """sha256 of every file under landing/ (parquet and sidecars), by relative path."""
    return {p.relative_to(landing).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(landing.rglob("*")) if p.is_file()}


@pytest.fixture
def landed_good(tmp_path):
    exports, landing = tmp_path / "exports", tmp_path / "landing"
    two_rows_delivery(exports, "exec-good")
    load_exports(str(exports), landing)
    assert landed(landing, "cur2", "2024-01") == (2, 3.75, ["exec-good"])
    return exports, landing, landing_digest(landing)


def assert_refused_and_kept(state: tuple[Path, Path, dict[str, str]], message: str) -> None:
    """Landing (exports, landing, digest before) again fails with ``message`` (a regex); landing/ is unchanged."""
    exports, landing, before = state
    with pytest.raises(IngestionError, match=message):
        load_exports(str(exports), landing)
    assert landing_digest(landing) == before


@pytest.mark.parametrize("bad_cost, shown", [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")])
def test_non_finite_cost_is_refused_before_the_swap(landed_good, bad_cost, shown):
    exports = landed_good[0]
    write_data_export(exports, "cur2-export", "2024-01",
                      {"part-00001.parquet": [cur2_row("a", 1.25), cur2_row("b", bad_cost)]}, execution_id="exec-bad")
    assert_refused_and_kept(landed_good, re.escape(
        f"delivery exec-bad of cur2/cur2-export for 2024-01 refused: 1 cost value(s) are NaN or infinite, "
        f"first column 'line_item_unblended_cost' = {shown} in cur2-export/data/BILLING_PERIOD=2024-01/"
        f"part-00001.parquet, line item 'b'. The previously landed delivery (if any) is kept"))


def test_implausible_cost_is_refused_naming_row_and_column(landed_good):
    exports = landed_good[0]
    write_data_export(exports, "cur2-export", "2024-01",
                      {"part-00001.parquet": [cur2_row("a", 1.25), cur2_row("huge", -1e15)]}, execution_id="exec-bad")
    assert_refused_and_kept(landed_good, r"refused: 1 cost value\(s\) exceed ±1,000,000,000,000 for one line "
                                            r"item \(a unit or export error\), first column "
                                            r"'line_item_unblended_cost' = -1000000000000000\.0 in "
                                            r".*part-00001\.parquet, line item 'huge'")


def test_usage_outside_the_billing_period_is_refused_before_the_swap(landed_good):
    exports = landed_good[0]
    write_data_export(exports, "cur2-export", "2024-01",
                      {"part-00001.parquet": [cur2_row("a", 1.25), cur2_row("b", 2.5, start="2023-12-31 23:00:00")]},
                      execution_id="exec-bad")
    assert_refused_and_kept(landed_good, r"refused: 1 line item\(s\) start outside billing period 2024-01")


def test_a_manifest_listing_the_same_file_twice_is_refused(landed_good):
    exports = landed_good[0]
    write_data_export(exports, "cur2-export", "2024-01", {"part-00001.parquet": [cur2_row("a", 1.25)]},
                      execution_id="exec-bad", manifest_files=["part-00001.parquet", "part-00001.parquet"])
    assert_refused_and_kept(landed_good, r"cur2-export-Manifest\.json: manifest lists data file "
                                            r".*part-00001\.parquet more than once; loading it would count its "
                                            r"costs twice")


def test_a_header_only_csv_is_refused_and_the_previous_delivery_kept(tmp_path):
    exports, landing = tmp_path / "exports", tmp_path / "landing"
    good = [["a", "111122223333", "222233334444", "Usage", "2024-01-02T00:00:00Z", "416.18"]]
    write_legacy_csv_export(exports, "cur", "2024-01", LEGACY_CSV_REQUIRED_HEADER, good, assembly_id="asm-1")
    load_exports(str(exports), landing)
    before = landing_digest(landing)
    write_legacy_csv_export(exports, "cur", "2024-01", LEGACY_CSV_REQUIRED_HEADER, [], assembly_id="asm-2")
    assert_refused_and_kept((exports, landing, before), r"asm-2/cur-1\.csv\.gz: delivery asm-2 of cur_legacy/cur "
                                                        r"for 2024-01 refused: it has no line items \(a header-only "
                                                        r"or empty file\)")
    assert landed(landing, "cur_legacy", "2024-01")[:3] == (1, 416.18, ["asm-1"])


def test_empty_data_files_in_a_manifest_is_a_clear_error(landed_good):
    exports = landed_good[0]
    write_data_export(exports, "cur2-export", "2024-01", {}, execution_id="exec-empty", manifest_files=[])
    assert_refused_and_kept(landed_good, r"cur2-export-Manifest\.json: manifest lists no data files \(its "
                                            r"dataFiles/reportKeys is empty\), so billing period 2024-01 has "
                                            r"nothing to load")


def test_a_broken_manifest_fails_its_own_period_only(tmp_path):
    exports, landing = tmp_path / "exports", tmp_path / "landing"
    two_rows_delivery(exports, "exec-jan")
    write_data_export(exports, "cur2-export", "2024-02", {"part-00001.parquet": [
        cur2_row("c", 4.0, start="2024-02-03 00:00:00")]}, execution_id="exec-feb")
    broken = exports / "cur2-export" / "metadata" / "BILLING_PERIOD=2024-01" / "cur2-export-Manifest.json"
    broken.write_text(json.dumps({"executionId": "x"})[:-3])
    with pytest.raises(IngestionError, match=r"BILLING_PERIOD=2024-01/cur2-export-Manifest\.json: manifest is not "
                                             r"valid JSON"):
        load_exports(str(exports), landing)
    assert landed(landing, "cur2", "2024-01") == (0, 0.0, [])
    assert landed(landing, "cur2", "2024-02") == (1, 4.0, ["exec-feb"])  # the other period still landed


@pytest.mark.parametrize("argument, message", [
    ("2026-13", "'2026-13' is not a billing period: expected YYYY-MM, e.g. 2026-10"),
    ("=abc", "'=abc' is not a billing period: expected YYYY-MM, e.g. 2026-10"),
    ("2017-12", "2017-12 is before FINOPS_FIRST_BILLING_PERIOD (2018-01); lower that setting to load it"),
])
def test_a_bad_period_argument_is_a_one_line_error(argument, message, capsys, monkeypatch):
    monkeypatch.setenv("FINOPS_FIRST_BILLING_PERIOD", "2018-01")
    with pytest.raises(SystemExit) as exited:
        main(["build", "--period", argument])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"finops build: error: argument --period: {message}"


def test_a_second_build_on_the_same_data_dir_exits_naming_the_running_one(tmp_path, capsys, monkeypatch):
    import subprocess
    import sys

    data_dir = tmp_path / "data"
    holder = subprocess.Popen(  # a real second process holding the build lock, as a running build does
        [sys.executable, "-c", "import time; from pathlib import Path; from orchestration.cli import build_lock\n"
                               f"with build_lock(Path({str(data_dir)!r})):\n"
                               "    print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv("FINOPS_DATA_DIR", str(data_dir))
        assert main(["build", "--export-uri", str(tmp_path / "nowhere")]) == 1
        assert capsys.readouterr().err.strip() == (
            f"finops: error: another build is running on {data_dir} (pid {holder.pid}); wait for it to finish, "
            "then run this one again")
    finally:
        holder.kill()
        holder.wait()
    # the kernel drops the lock with its process: the next build gets past it (and fails on the missing exports)
    assert main(["build", "--export-uri", str(tmp_path / "nowhere")]) == 1
    assert "another build is running" not in capsys.readouterr().err


def test_a_data_dir_with_a_quote_in_its_path_builds_and_publishes(tmp_path):
    """Paths reach SQL as quoted literals everywhere (loader, dbt sources, checks, publish)."""
    import dataclasses

    import duckdb

    from orchestration.cli import run_build
    from orchestration.publish import published_path
    from orchestration.sample_data import write_sample_exports
    from orchestration.settings import Settings

    exports = tmp_path / "exports"
    write_sample_exports(exports, periods=["2026-05"], rows_per_period=1000, seed=5,
                         layout={"payer-a": "cur2"})
    data_dir = tmp_path / "o'brien's data"
    settings = dataclasses.replace(Settings.from_env(), data_dir=data_dir, export_uri=str(exports),
                                   duckdb_threads=2, duckdb_memory_limit="1GB")
    assert run_build(settings) == ["2026-05"]
    landed_billed = landed(data_dir / "landing", "cur2", "2026-05")[1]
    with duckdb.connect(str(published_path(data_dir)), read_only=True) as con:
        published = con.execute("select round(sum(canonical_billed_cost), 2) from marts.rpt_allocation_completeness"
                                ).fetchone()[0]
    assert published == landed_billed


def test_a_symlinked_export_folder_is_followed_once(tmp_path):
    """15.8: an export folder linked in from elsewhere is loaded; a link loop or a second link to the
    same folder neither hangs the walk nor counts the export twice."""
    exports, landing, elsewhere = tmp_path / "exports", tmp_path / "landing", tmp_path / "elsewhere"
    two_rows_delivery(elsewhere, "exec-linked")
    exports.mkdir()
    (exports / "cur2-export").symlink_to(elsewhere / "cur2-export", target_is_directory=True)
    (exports / "zz-same-export-again").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "cur2-export" / "loop").symlink_to(exports, target_is_directory=True)
    results = load_exports(str(exports), landing)
    assert [(r.export_name, r.billing_period, r.status) for r in results] == [("cur2-export", "2024-01", "loaded")]
    assert landed(landing, "cur2", "2024-01") == (2, 3.75, ["exec-linked"])


def test_a_data_dir_under_a_regular_file_is_one_clear_error(tmp_path, capsys, monkeypatch):
    """15.9: works as root too (chmod does not stop root; a file in the way of a folder does)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder is expected")
    exports = tmp_path / "exports"
    two_rows_delivery(exports, "exec-1")
    monkeypatch.setenv("FINOPS_DATA_DIR", str(blocker / "data"))
    assert main(["build", "--export-uri", str(exports)]) == 1
    assert capsys.readouterr().err == (
        f"finops: error: cannot write to {blocker / 'data'}: {blocker} is a file, not a folder; move that file away "
        "or set FINOPS_DATA_DIR to a folder you can write to\n")
    with pytest.raises(IngestionError) as refused:
        load_exports(str(exports), blocker / "landing")
    assert str(refused.value) == (
        f"cannot write to {blocker / 'landing' / 'cur2'}: {blocker} is a file, not a folder; move that file away "
        "or set FINOPS_DATA_DIR to a folder you can write to")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes through chmod 0555; the file-in-the-way test above covers root")
def test_an_unwritable_landing_folder_is_named_not_called_corrupt(landed_good):
    """15.9: before, DuckDB failing to open its output read as 'corrupt or truncated' input."""
    exports, landing, before = landed_good
    write_data_export(exports, "cur2-export", "2024-01", {"part-00002.parquet": [cur2_row("c", 9.0)]},
                      execution_id="exec-new")
    folder = landing / "cur2" / "billing_period=2024-01"
    folder.chmod(0o555)
    try:
        assert_refused_and_kept(landed_good, re.escape(
            f"cannot write to {folder}: permission denied; make it writable or set FINOPS_DATA_DIR to a folder "
            "you can write to"))
    finally:
        folder.chmod(0o755)
