"""Recovery after a run was killed: mark it failed in Dagster, remove what it left half-written.

A run killed with SIGKILL (or by the OOM killer, or a reboot) cannot report its own end:
Dagster keeps it ``STARTED`` forever, and the ``warehouse_after_landing`` sensor, which waits
for landing runs to finish, would skip for ever. Dagster's run monitoring does not help for
this project's runs: the default run launcher cannot check a run worker's health, so the
daemon only times out runs stuck in ``STARTING`` (``run_monitoring.start_timeout_seconds``).

So every run records which process executes it, and a run in progress whose process is
gone is marked failed (``run killed (process <pid> gone)``):

- ``finops build`` / ``finops demo`` execute their jobs in-process and tag each run with
  ``finops/pid``, ``finops/host`` and ``finops/pid_started`` (:func:`process_tags`);
- a run launched by the daemon or the UI logs ``Started process for run (pid: N)`` itself
  (the default run launcher runs it on this machine).

A pid is only trusted on the host that recorded it, and a process that started after the run
did is a later process that reused the pid, not the run's. Runs are checked when
``finops build`` starts and on every tick of ``warehouse_after_landing``.

The litter of a killed run (:func:`clean_litter`): the loader's downloads and DuckDB spill
files in ``landing/.incoming/``, its ``*.tmp`` landing files and sidecars, and a publish cut
short before its swap (``published/.finops.duckdb.<id>.tmp``, ``parquet-versions/.<id>.tmp``).
It is removed at the start of the next ``finops build``, which holds the build lock, and only
when no run is in progress any more, so nothing a live run is writing is touched.
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

PID_TAG = "finops/pid"
HOST_TAG = "finops/host"
PID_STARTED_TAG = "finops/pid_started"  # when that process started (epoch seconds): tells a reused pid apart
# What started a run: `demo` / `build` (finops, in-process), `schedule`, `sensor`; tells demo runs
# apart from production ones in the run history (filter on the tag in the UI's Runs page).
RUN_KIND_TAG = "finops/run_kind"
# The engine event a run worker launched by Dagster logs first (dagster/_cli/api.py, _grpc/impl.py).
STARTED_PROCESS_MESSAGE = "Started process for run (pid: "
# Clock skew between the kernel's boot time (whole seconds) and a process's start in ticks.
START_TIME_SLACK_S = 2.0


def process_tags(run_kind: str = "build") -> dict[str, str]:
    """Run tags naming the process that executes a run in-process (``finops build``) and the kind of run."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), RUN_KIND_TAG: run_kind}
    started = process_start_time(os.getpid())
    if started is not None:
        tags[PID_STARTED_TAG] = f"{started:.2f}"
    return tags


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), from /proc; None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, StopIteration, ValueError):
        return None
    # Field 22 (starttime, in clock ticks since boot); the command name (field 2) may hold spaces.
    ticks = int(stat[stat.rindex(")") + 2:].split()[19])
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def process_alive(pid: int, started_by: float | None = None) -> bool:
    """Whether ``pid`` is a live process that started no later than ``started_by`` (epoch seconds)."""
    try:
        os.kill(pid, 0)  # signal 0: existence check, nothing is sent
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    if started_by is not None:
        started = process_start_time(pid)
        if started is not None and started > started_by + START_TIME_SLACK_S:
            return False  # the pid was reused by a later process
    return True


@dataclass(frozen=True)
class DeadRun:
    run_id: str
    job_name: str
    partition: str | None
    pid: int

    def __str__(self) -> str:
        where = f" ({self.partition})" if self.partition else ""
        return f"run {self.run_id} of {self.job_name}{where}: {failure_message(self.pid)}; marked failed"


def failure_message(pid: int) -> str:
    return f"run killed (process {pid} gone)"


def _run_process(instance, record) -> tuple[int, float | None] | None:
    """(pid, latest start time a live process may have) of a run in progress; None if unknown here."""
    run = record.dagster_run
    tags = run.tags
    if PID_TAG in tags:
        if tags.get(HOST_TAG) != socket.gethostname():
            return None  # another machine's process: nothing to check from here
        started = tags.get(PID_STARTED_TAG)
        return int(tags[PID_TAG]), float(started) if started else None
    import dagster as dg

    if not isinstance(instance.run_launcher, dg.DefaultRunLauncher):
        return None  # a container or remote launcher: its own run monitoring covers it

    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        if (entry.message or "").startswith(STARTED_PROCESS_MESSAGE):
            pid = entry.dagster_event.event_specific_data.metadata["pid"].value
            return int(pid), entry.timestamp
    return None  # not started yet (QUEUED/STARTING): Dagster's start timeout covers it


def recover_dead_runs(instance) -> list[DeadRun]:
    """Mark every run in progress whose process is gone as failed (RUN_FAILURE, with the reason)."""
    import dagster as dg

    in_progress = instance.get_run_records(dg.RunsFilter(
        statuses=[dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]))
    dead = []
    for record in in_progress:
        process = _run_process(instance, record)
        if process is None or process_alive(*process):
            continue
        run = record.dagster_run
        instance.report_run_failed(run, failure_message(process[0]))
        dead.append(DeadRun(run.run_id, run.job_name, run.tags.get("dagster/partition"), process[0]))
    return dead


def runs_in_progress(instance) -> int:
    import dagster as dg

    return len(instance.get_run_records(dg.RunsFilter(statuses=[
        dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]), limit=1))


def clean_litter(data_dir: Path) -> list[Path]:
    """Remove what a killed load or publish left half-written under ``data_dir``; returns what went.

    Only call it when nothing is writing there (the build lock held, no run in progress).
    The temporary names are the loader's (ingestion/landing.py) and the publisher's (publish.py).
    """
    removed: list[Path] = []
    landing = data_dir / "landing"
    incoming = landing / ".incoming"
    if incoming.is_dir():
        removed += sorted(incoming.iterdir())
    if landing.is_dir():
        removed += sorted(p for p in landing.rglob("*.tmp") if incoming not in p.parents)
    published = data_dir / "published"
    if published.is_dir():
        removed += sorted(published.glob(".*.tmp")) + sorted(published.glob(".*.tmp.wal"))
        removed += sorted((published / "parquet-versions").glob(".*.tmp"))
    for path in removed:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return removed


def recover(data_dir: Path) -> list[str]:
    """At the start of a build: mark dead runs failed, then clean their litter. One line per action."""
    import dagster as dg

    notes = []
    with dg.DagsterInstance.get() as instance:
        notes += [str(dead) for dead in recover_dead_runs(instance)]
        busy = runs_in_progress(instance)
    if busy:  # a live run (the daemon's, another host's) may be writing: leave its files alone
        return notes
    removed = clean_litter(data_dir)
    if removed:
        notes.append(f"removed {len(removed)} temporary file(s) left by a killed run: "
                     + ", ".join(str(p.relative_to(data_dir)) for p in removed[:5])
                     + (", …" if len(removed) > 5 else ""))
    return notes
