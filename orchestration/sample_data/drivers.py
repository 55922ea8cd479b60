"""Sample business drivers for unit economics (dbt source ``business.drivers``).

Drivers are the business outputs cloud cost is divided by (active customers, checkout
transactions, inferences, GB served...). The warehouse reads them from CSV files in
``$FINOPS_DATA_DIR/drivers/*.csv`` with the header ``period,metric_name,value,revenue``:

- ``period``: ``YYYY-MM`` (or a ``YYYY-MM-DD`` date in the month; daily rows are summed);
- ``metric_name``: matched against ``metric_name`` in the dbt seed ``unit_metrics``;
- ``value``: the number of units in the period;
- ``revenue``: optional revenue of those units in the billing currency (empty when unknown).

The sample numbers belong to the sample organisation (:mod:`organisation`): volumes grow a
few percent a month and scale with the generated line items per period (a bigger sample
bill serves proportionally more business), so cost per unit does not depend on the sample
size. The story: every feature earns more than it costs except the ML recommendations
feature (metric ``inferences``, team ``ml-inference``), whose revenue per inference is below
its cloud cost per inference — fct_unit_cost_monthly flags its negative unit margin.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DRIVERS_FOLDER = "drivers"  # same as var('business_drivers_folder') in dbt_project.yml
HEADER = ("period", "metric_name", "value", "revenue")
SAMPLE_FILE = "sample-drivers.csv"
REFERENCE_ROWS = 100_000  # the per-period line-item count the volumes below are given for


@dataclass(frozen=True)
class DriverSpec:
    metric_name: str
    units: float  # per month at REFERENCE_ROWS line items per period, first generated month
    monthly_growth: float
    revenue_per_unit: float | None  # None: the driver has no revenue (a cost-only unit)
    decimals: int = 0


# Cost per unit at REFERENCE_ROWS (effective cost of the sample org, tag allocation):
# all ~$21.8k / 8,000 customers ~ $2.7; checkout ~$3.2k / 400k transactions ~ $0.008;
# ml-inference ~$2.0k / 250k inferences ~ $0.008 vs $0.005 revenue (negative margin).
DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec("active_customers", 8_000, 0.03, 35.0),
    DriverSpec("checkout_transactions", 400_000, 0.04, 0.05),
    DriverSpec("payments_processed", 90_000, 0.04, 0.10),
    DriverSpec("inferences", 250_000, 0.06, 0.005),
    DriverSpec("api_calls_thousands", 60_000, 0.05, None, 1),
    DriverSpec("gb_served", 150_000, 0.02, None, 1),
    DriverSpec("storefront_sessions_thousands", 30_000, 0.03, None, 1),
)


def ensure_drivers_layout(data_dir: Path) -> Path:
    """Create ``<data_dir>/drivers/`` with a header-only CSV, so the dbt source always has a file."""
    folder = Path(data_dir) / DRIVERS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    header_file = folder / "_header.csv"
    if not header_file.exists():
        tmp = folder / "._header.csv.tmp"
        tmp.write_text(",".join(HEADER) + "\n")
        tmp.replace(header_file)
    return folder


def write_sample_drivers(data_dir: Path, periods: list[str], seed: int, *,
                         rows_per_period: int = 200_000) -> Path:
    """Write the sample organisation's monthly drivers for ``periods`` to
    ``<data_dir>/drivers/sample-drivers.csv`` (replacing it) and return the file.

    ``rows_per_period`` should be the line items per period the sample exports were generated
    with (default: ``finops demo``'s default), so that volumes match the size of the bill.
    Deterministic for (periods, seed, rows_per_period).
    """
    folder = ensure_drivers_layout(data_dir)
    periods = sorted(dict.fromkeys(periods))
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 4242])))
    scale = rows_per_period / REFERENCE_ROWS
    rows = []
    for i, period in enumerate(periods):
        if len(period) != 7 or period[4] != "-" or not 1 <= int(period[5:]) <= 12:
            raise ValueError(f"period must be YYYY-MM, got {period!r}")
        for spec in DRIVERS:
            value = spec.units * scale * (1 + spec.monthly_growth) ** i * (1 + rng.normal(0.0, 0.01))
            value = round(value, spec.decimals) if spec.decimals else round(value)
            revenue = "" if spec.revenue_per_unit is None else f"{value * spec.revenue_per_unit:.2f}"
            rows.append((period, spec.metric_name, value, revenue))
    path = folder / SAMPLE_FILE
    tmp = folder / f".{SAMPLE_FILE}.tmp"
    with open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    tmp.replace(path)
    return path
