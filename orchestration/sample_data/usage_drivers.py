"""Sample usage drivers of the demo organisation's usage-metered shared pools (issue 20).

Three pools of seed ``shared_cost_rules`` split by measured usage, and they use each other:

- ``shared-database``: the organisation's untagged RDS (one shared cluster); metered in GB-month
  stored per consumer. The data platform stores its pipelines' state there.
- ``shared-data-platform``: the untagged cost of the data platform's production account (the shared
  Spark/ETL platform); metered in CPU-hours per consumer. It runs the database's maintenance
  jobs (backups, vacuum), so the database consumes the platform: a cycle.
- ``shared-networking``: payer A's networking account; metered in GB transferred per consumer.
  Both the database and the data platform pull their data through it.

The files are what a user's own systems would deliver: one CSV per month in
``$FINOPS_DATA_DIR/usage-drivers/`` (the default FINOPS_USAGE_DRIVERS_URI), header
``billing_period,pool,consumer,quantity,unit``. The first month has no ``shared-data-platform`` rows
(its metering went live in the second month): that pool falls back to its
fallback_split_method there, and rpt_allocation_completeness says so.
Quantities grow a few percent a month with a little noise; deterministic for (periods, seed).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

USAGE_DRIVERS_FOLDER = "usage-drivers"  # orchestration.ingestion.usage_drivers.usage_drivers_uri's default

# pool -> (unit, {consumer: quantity in the first month})
USAGE: dict[str, tuple[str, dict[str, float]]] = {
    "shared-database": ("GB-month", {
        "shared-data-platform": 1_800, "analytics": 1_200, "ml-inference": 700, "platform": 300}),
    "shared-data-platform": ("CPU-hours", {
        "analytics": 5_400, "ml-inference": 3_100, "data-platform": 2_000, "shared-database": 900}),
    "shared-networking": ("GB transferred", {
        "checkout": 42_000, "search": 30_000, "payments": 21_000, "mobile-api": 18_000, "identity": 9_000,
        "growth": 6_000, "customer-support": 3_000, "shared-database": 12_000, "shared-data-platform": 24_000}),
}
METERED_FROM_SECOND_MONTH = {"shared-data-platform"}
MONTHLY_GROWTH = 0.03


def write_sample_usage_drivers(data_dir: Path, periods: list[str], seed: int) -> list[Path]:
    """Write ``<data_dir>/usage-drivers/sample-usage-YYYY-MM.csv`` for ``periods`` and return them."""
    folder = Path(data_dir) / USAGE_DRIVERS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 2020])))
    written = []
    for month, period in enumerate(sorted(dict.fromkeys(periods))):
        path = folder / f"sample-usage-{period}.csv"
        tmp = folder / f".sample-usage-{period}.csv.tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["billing_period", "pool", "consumer", "quantity", "unit"])
            for pool, (unit, consumers) in USAGE.items():
                if month == 0 and pool in METERED_FROM_SECOND_MONTH:
                    continue
                for consumer, quantity in consumers.items():
                    noise = rng.normal(1.0, 0.05)
                    writer.writerow([period, pool, consumer,
                                     round(quantity * (1 + MONTHLY_GROWTH) ** month * noise, 1), unit])
        tmp.replace(path)
        written.append(path)
    return written
