"""Settings: every path and knob the project reads, in one place.

All of them come from environment variables (documented in the README), so that
`finops`, `dagster dev`, dbt and the tests agree on where things are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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
    first_billing_period: str  # the first monthly partition Dagster offers (YYYY-MM)
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
            first_billing_period=os.environ.get("FINOPS_FIRST_BILLING_PERIOD", "2018-01"),
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
