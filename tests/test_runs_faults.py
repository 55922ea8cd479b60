"""Issue 15, run control: killed runs (5), two builds at once (6), bad periods (7), a quote in
the data dir (9) and stale readers (11).

Cases 6, 7 and 9 are also covered in tests/test_landing_faults.py; here 6 is two real
`finops build` processes, 7 the message of each bad form, 9 the build of a killed run's
recovery in a quoted data dir.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.cli import main
from orchestration.publish import publish_marts, published_path, read_publication
from orchestration.sample_data import write_sample_exports
from tests.test_ingestion import landed
from tests.test_publish import write_build_file

PERIOD = "2026-05"

# `finops build`, stopped for good right after the loader wrote its temporary landing file
# (before the swap): the process is then killed with SIGKILL, as the OOM killer would.
STALLED_BUILD = """
import sys, time
import orchestration.ingestion.landing as landing
from orchestration.cli import main

write = landing._write_landing_file
def write_then_stall(*args, **kwargs):
    stats = write(*args, **kwargs)
    print("stalled", file=sys.__stdout__, flush=True)
    time.sleep(3600)
    return stats
landing._write_landing_file = write_then_stall
sys.exit(main(["build", "--export-uri", sys.argv[1]]))
"""

# A publish stopped after its copy is written and before the swap (the first fsync is the copy's).
STALLED_PUBLISH = """
import sys, time
import orchestration.publish as publish

fsync = publish._fsync
def fsync_then_stall(path):
    fsync(path)
    print("stalled", flush=True)
    time.sleep(3600)
publish._fsync = fsync_then_stall
publish.publish_marts(sys.argv[1], sys.argv[2])
"""


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    """A tiny CUR 2.0 export (one month, 300 line items) and a data dir with a quote in its name."""
    exports = tmp_path / "exports"
    write_sample_exports(exports, periods=[PERIOD], rows_per_period=300, seed=5, layout={"payer-a": "cur2"})
    data_dir = tmp_path / "o'brien data"
    monkeypatch.setenv("FINOPS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FINOPS_EXPORT_URI", str(exports))
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster"))
    monkeypatch.setenv("FINOPS_DUCKDB_THREADS", "2")
    monkeypatch.setenv("FINOPS_DUCKDB_MEMORY_LIMIT", "1GB")
    return exports, data_dir


def wait_for_stall(process: subprocess.Popen) -> None:
    """Read the process's output (its progress lines) until it says it stalled."""
    for line in process.stdout:
        if line.strip() == "stalled":
            return
    pytest.fail(f"the process ended before it stalled: {process.stderr.read()}")


def kill_when_stalled(script: str, *args: str) -> int:
    """Run ``script`` in a real process, SIGKILL it once it says it stalled; returns its pid."""
    process = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        wait_for_stall(process)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    return process.pid


def load_runs(instance) -> list[dg.DagsterRun]:
    return [r.dagster_run for r in instance.get_run_records(dg.RunsFilter(job_name="load_billing_period"))]


def failure_message(instance, run_id: str) -> str:
    [failure] = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    return failure.dagster_event.message


# ----------------------------------------------------------------------------------------------
# 15.5 a run killed with SIGKILL
# ----------------------------------------------------------------------------------------------

def test_killed_landing_run_no_longer_blocks_the_warehouse_sensor(data_env):
    exports, data_dir = data_env
    pid = kill_when_stalled(STALLED_BUILD, str(exports))
    with dg.DagsterInstance.get() as instance:
        [run] = load_runs(instance)
        assert run.status == dg.DagsterRunStatus.STARTED  # Dagster never heard of the kill
        assert run.tags["finops/pid"] == str(pid)

        from orchestration.definitions import defs

        sensor = defs.get_sensor_def("warehouse_after_landing")
        result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
        # not "landing runs are still in progress" (for ever): the killed run is failed, nothing succeeded
        assert result.skip_message == "no landing run finished since the last build"
        [run] = load_runs(instance)
        assert run.status == dg.DagsterRunStatus.FAILURE
        assert failure_message(instance, run.run_id) == f"run killed (process {pid} gone)"


def test_the_next_build_fails_the_killed_run_removes_its_litter_and_publishes(data_env, capfd):
    exports, data_dir = data_env
    pid = kill_when_stalled(STALLED_BUILD, str(exports))
    # a publish killed before its swap, over an earlier publication
    write_build_file(data_dir.parent / "old-build.duckdb", 1)
    first = publish_marts(data_dir.parent / "old-build.duckdb", data_dir)
    write_build_file(data_dir.parent / "old-build.duckdb", 2)  # changed: an unchanged build publishes nothing
    kill_when_stalled(STALLED_PUBLISH, str(data_dir.parent / "old-build.duckdb"), str(data_dir))
    assert read_publication(data_dir)["publish_id"] == first.publish_id  # the killed publish changed nothing
    landing = data_dir / "landing"
    left = {"incoming": list((landing / ".incoming").iterdir()),
            "landing tmp": list((landing / "cur2").rglob(".*.tmp")),
            "publish tmp": list((data_dir / "published").glob(".finops.duckdb.*.tmp")),
            "parquet tmp": list((data_dir / "published" / "parquet-versions").glob(".*.tmp"))}
    assert all(left.values()), left
    assert not list((landing / "cur2").glob("billing_period=*/*.parquet"))  # the killed load never swapped in

    capfd.readouterr()
    assert main(["build"]) == 0
    out = capfd.readouterr().out
    with dg.DagsterInstance.get() as instance:
        killed, landed_run = sorted(load_runs(instance), key=lambda r: r.tags["finops/pid"] != str(pid))
        assert killed.status == dg.DagsterRunStatus.FAILURE
        assert failure_message(instance, killed.run_id) == f"run killed (process {pid} gone)"
        assert landed_run.status == dg.DagsterRunStatus.SUCCESS
    assert f"  run {killed.run_id} of load_billing_period ({PERIOD}): run killed (process {pid} gone); " \
           "marked failed" in out.splitlines()
    assert "temporary file(s) left by a killed run" in out
    for paths in left.values():
        assert not any(p.exists() for p in paths)
    from orchestration.publish import open_published

    rows, billed, _ = landed(landing, "cur2", PERIOD)
    assert rows > 0 and billed > 0
    with open_published(data_dir) as con:
        published = con.execute("select round(sum(canonical_billed_cost), 2) from marts.rpt_allocation_completeness"
                                ).fetchone()[0]
    assert published == round(billed, 2)


# ----------------------------------------------------------------------------------------------
# 15.6 two builds at once
# ----------------------------------------------------------------------------------------------

def test_a_second_real_build_exits_naming_the_first(data_env):
    exports, data_dir = data_env
    first = subprocess.Popen([sys.executable, "-c", STALLED_BUILD, str(exports)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        wait_for_stall(first)  # the first build is loading, its lock held
        second = subprocess.run([sys.executable, "-m", "orchestration.cli", "build"], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parent.parent)
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 1
    assert second.stderr.strip() == (f"finops: error: another build is running on {data_dir} (pid {first.pid}); "
                                     "wait for it to finish, then run this one again")


# ----------------------------------------------------------------------------------------------
# 15.7 bad periods
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command, argument, message", [
    ("build", "2026-13", "argument --period: '2026-13' is not a billing period: expected YYYY-MM, e.g. 2026-10"),
    ("build", "=abc", "argument --period: '=abc' is not a billing period: expected YYYY-MM, e.g. 2026-10"),
    ("build", "2026-5", "argument --period: '2026-5' is not a billing period: expected YYYY-MM, e.g. 2026-10"),
    ("report", "2026-00", "argument --period: '2026-00' is not a billing period: expected YYYY-MM, e.g. 2026-10"),
    ("build", "2019-12", "argument --period: 2019-12 is before FINOPS_FIRST_BILLING_PERIOD (2020-01); "
                         "lower that setting to load it"),
])
def test_a_bad_period_is_one_line_naming_it(command, argument, message, capsys, monkeypatch):
    monkeypatch.setenv("FINOPS_FIRST_BILLING_PERIOD", "2020-01")
    with pytest.raises(SystemExit) as exited:
        main([command, f"--period={argument}"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"finops {command}: error: {message}"


def test_periods_are_not_bounded_when_no_first_period_is_set(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("FINOPS_FIRST_BILLING_PERIOD", raising=False)
    monkeypatch.setenv("FINOPS_DATA_DIR", str(tmp_path / "data"))
    assert main(["build", "--export-uri", str(tmp_path / "nowhere"), "--period", "2015-03"]) == 1
    assert "FINOPS_FIRST_BILLING_PERIOD" not in capsys.readouterr().err  # got past parsing


# ----------------------------------------------------------------------------------------------
# 15.11 readers see the new publication in the same process
# ----------------------------------------------------------------------------------------------

def test_readers_through_the_helpers_see_a_new_publication_while_an_old_connection_is_open(tmp_path):
    data_dir, build = tmp_path / "data", tmp_path / "warehouse.duckdb"
    write_build_file(build, 1)
    first = publish_marts(build, data_dir)
    notebook = duckdb.connect(str(published_path(data_dir)), read_only=True)  # a reader that stays open
    try:
        assert notebook.execute("select sum(total_cost) from marts.rpt_showback_monthly").fetchone()[0] == 300.0
        write_build_file(build, 2)
        second = publish_marts(build, data_dir)

        assert read_publication(data_dir)["publish_id"] == second.publish_id != first.publish_id
        from orchestration.publish import open_published

        with open_published(data_dir) as con:
            assert con.execute("select sum(total_cost) from marts.rpt_showback_monthly").fetchone()[0] == 600.0
        # the open connection still reads the version it opened (never a mix)
        assert notebook.execute("select publish_id from marts._published").fetchone()[0] == first.publish_id
    finally:
        notebook.close()
