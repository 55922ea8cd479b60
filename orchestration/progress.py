"""One progress line per stage for `finops build` / `finops demo`, from Dagster's own events.

The jobs run in-process; every event of a run (step started, succeeded, failed …) goes to
the run's loggers. The ``progress`` logger below turns the step events into the rows of a
``rich`` progress display: a spinner and the elapsed time while a stage runs, a tick and its
duration when it is done. On a terminal the rows update in place; in a file or a pipe rich
writes the final rows once, when the display closes. Everything else (dbt's own lines,
per-alert detail) stays in the log file and the Dagster run log.

The logger does nothing unless a display is open (:func:`progress_display`), so a run
launched from the UI with it configured prints nothing extra.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

import dagster as dg
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

# Step key -> the stage's name on screen. The asset checks (Great Expectations) are steps of
# their own: each is counted in the row of the stage that ran before it (the asset it checks),
# which is ticked when they are done too.
STAGES = {
    "landing": "landing billing period {partition}",
    "finops_dbt_seeds": "dbt build: seeds (configuration) and their tests",
    "finops_dbt_models": "dbt build: models and their tests",
    "alerts__cost_alerts": "routing cost alerts",  # the op of asset alerts/cost_alerts
    "published_warehouse": "publishing the marts for BI",
    "dbt_docs": "dbt docs (static site)",
    "monthly_review_pack": "writing the review pack",
}
CHECKS = "quality checks (Great Expectations)"  # checks run before any stage of the run

_display: Progress | None = None


@contextlib.contextmanager
def progress_display(console: Console | None = None) -> Iterator[Progress]:
    """Open the display the ``progress`` logger writes to (stdout, whatever redirect is active)."""
    global _display
    progress = Progress(SpinnerColumn(finished_text="[green]✓[/]"), TextColumn("{task.description}"),
                        TimeElapsedColumn(), console=console or Console(file=sys.__stdout__),
                        # sys.stdout may be the build's log file (dbt's lines): leave it there
                        redirect_stdout=False)
    with progress:
        _display = progress
        try:
            yield progress
        finally:
            _display = None


class _StageHandler(logging.Handler):
    """STEP_START / STEP_SUCCESS / STEP_FAILURE -> rows of the open display."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.rows: dict[str, TaskID] = {}
        self.started: dict[str, int] = {}
        self.last_stage: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        progress = _display
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if progress is None or event is None or not event.step_key:
            return
        step = event.step_key.split("[")[0]
        if step in STAGES:
            partition = (meta.get("job_tags") or {}).get("dagster/partition", "")
            label = STAGES[step].format(partition=partition).strip()
            self.last_stage = label
        else:
            label = self.last_stage or CHECKS
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            if label not in self.rows:
                self.rows[label] = progress.add_task(label, total=0)
            self.started[label] = self.started.get(label, 0) + 1
            progress.update(self.rows[label], total=self.started[label])
        elif kind == dg.DagsterEventType.STEP_SUCCESS and label in self.rows:
            progress.advance(self.rows[label])
        elif kind == dg.DagsterEventType.STEP_FAILURE and label in self.rows:
            progress.update(self.rows[label], description=f"{label} [red]— failed[/]")
            progress.stop_task(self.rows[label])


@dg.logger(description="One rich progress row per stage of `finops build` (no output unless the CLI opened a "
                       "display).")
def progress_logger(init_context) -> logging.Logger:
    logger = logging.Logger("finops.progress", level=logging.DEBUG)
    logger.addHandler(_StageHandler())
    return logger
