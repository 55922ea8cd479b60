"""Deterministic, realistic AWS billing exports (CUR 2.0, legacy CUR CSV/parquet, FOCUS 1.0)
for a fictional organisation, for tests, demos and load tests."""

from .generate import DEFAULT_LAYOUT, PeriodSummary, SampleSummary, write_sample_exports
from .organisation import ACCOUNTS, PAYERS, TEAMS, account_metadata
from .writers import FORMATS, athena_name, legacy_csv_name

__all__ = [
    "ACCOUNTS", "DEFAULT_LAYOUT", "FORMATS", "PAYERS", "PeriodSummary", "SampleSummary", "TEAMS",
    "account_metadata", "athena_name", "legacy_csv_name", "write_sample_exports",
]
