"""Settings: every path and knob the project reads, in one place.

All of them come from environment variables (documented in the README), so that
`finops`, `dagster dev`, dbt and the tests agree on where things are.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    export_uri: str
    duckdb_threads: int
    duckdb_memory_limit: str
    # FINOPS_FIRST_BILLING_PERIOD (YYYY-MM): the first monthly partition Dagster offers, when set;
    # None lets first_partition() derive it from the data.
    first_billing_period: str | None
    # Billing periods the daily schedule reloads: AWS restates the current and the
    # previous month until the invoice is final.
    restatement_months: int = 2
    # Where the data team opens Dagster; alert messages link back to assets there.
    dagster_url: str = "http://127.0.0.1:3000"
    # Attempts per webhook call before an alert is reported as undelivered.
    alert_attempts: int = 4

    @property
    def alerts_dir(self) -> Path:
        return self.data_dir / "alerts"

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def sample_exports_dir(self) -> Path:
        return self.data_dir / "sample-exports"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.data_dir / "dagster")

    @classmethod
    def from_env(cls) -> "Settings":
        data_dir = Path(os.environ.get("FINOPS_DATA_DIR", "data")).expanduser().resolve()
        return cls(
            data_dir=data_dir,
            export_uri=os.environ.get("FINOPS_EXPORT_URI") or str(data_dir / "sample-exports"),
            duckdb_threads=int(os.environ.get("FINOPS_DUCKDB_THREADS", os.cpu_count() or 2)),
            duckdb_memory_limit=os.environ.get("FINOPS_DUCKDB_MEMORY_LIMIT", "2GB"),
            first_billing_period=os.environ.get("FINOPS_FIRST_BILLING_PERIOD") or None,
            restatement_months=int(os.environ.get("FINOPS_RESTATEMENT_MONTHS", "2")),
            dagster_url=os.environ.get("FINOPS_DAGSTER_URL", "http://127.0.0.1:3000").rstrip("/"),
            alert_attempts=int(os.environ.get("FINOPS_ALERT_ATTEMPTS", "4")),
        )

    def export_to_env(self) -> None:
        """Make these settings visible to subprocesses (dbt reads them with env_var())."""
        os.environ["FINOPS_DATA_DIR"] = str(self.data_dir)
        os.environ["FINOPS_EXPORT_URI"] = self.export_uri
        os.environ["FINOPS_DUCKDB_THREADS"] = str(self.duckdb_threads)
        os.environ["FINOPS_DUCKDB_MEMORY_LIMIT"] = self.duckdb_memory_limit
        os.environ.setdefault("DAGSTER_HOME", str(self.dagster_home))


# The partitions offered when no data says where the bill starts: this many months before the current one.
RECENT_MONTHS = 12
LANDED_PERIOD = re.compile(r"billing_period=(\d{4}-(?:0[1-9]|1[0-2]))")


def _months_before(today: date, months: int) -> str:
    index = today.year * 12 + today.month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def landed_periods(landing_dir: Path) -> set[str]:
    """Billing periods with a folder under ``landing/<format>/billing_period=YYYY-MM``."""
    if not landing_dir.is_dir():
        return set()
    return {match.group(1) for folder in landing_dir.glob("*/billing_period=*")
            if folder.is_dir() and (match := LANDED_PERIOD.fullmatch(folder.name))}


def local_export_periods(export_uri: str) -> set[str]:
    """Billing periods delivered in a local export folder; empty for S3 or anything unreadable.

    Listing S3 when the code location loads would make the UI wait for the network and
    fail without credentials, so only a local folder (cheap to list) is looked at.
    """
    if "://" in export_uri or not Path(export_uri).expanduser().is_dir():
        return set()
    from orchestration.ingestion.discovery import discover_deliveries
    from orchestration.ingestion.storage import open_store

    try:
        return {d.billing_period for d in discover_deliveries(open_store(export_uri))}
    except Exception:  # a broken export must not stop the UI from loading: the sensor reports it
        return set()


def first_partition(settings: Settings, today: date | None = None) -> str:
    """The first monthly partition (YYYY-MM) the Dagster definitions offer.

    FINOPS_FIRST_BILLING_PERIOD when set; otherwise the earliest billing period of the data:
    landed (``landing/<format>/billing_period=YYYY-MM``) or delivered in a local export folder;
    with no data, the last RECENT_MONTHS months. Never later than the periods the schedules
    restate (the current one and FINOPS_RESTATEMENT_MONTHS - 1 before it, at least the
    previous one): a schedule never asks for a partition that does not exist.
    The definitions compute it when the code location loads: a period landed earlier than
    it shows in the UI after a reload.
    """
    if settings.first_billing_period:
        return settings.first_billing_period
    today = today or date.today()
    found = landed_periods(settings.landing_dir) | local_export_periods(settings.export_uri)
    restated = _months_before(today, max(settings.restatement_months, 2) - 1)
    earliest = min(found) if found else _months_before(today, RECENT_MONTHS)
    return min(earliest, restated)


def dbt_executable() -> str:
    """The dbt installed with this Python (the venv's), else the one on PATH.

    `.venv/bin/dagster dev` runs without the venv activated, so PATH may not hold the
    venv's bin folder; dagster-dbt would only look there.
    """
    beside = Path(sys.executable).parent / "dbt"  # not resolved: the venv's python is a symlink
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("dbt")
    if found:
        return found
    raise RuntimeError(f"dbt is not installed beside {sys.executable} nor on PATH; "
                       "run scripts/bootstrap to install the project's dependencies in .venv")
