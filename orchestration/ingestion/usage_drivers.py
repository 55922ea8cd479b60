"""Usage drivers: measured usage of shared pools, landed like billing exports.

A usage driver file says how much of a shared pool each consumer used in a period
(requests, GB stored, CPU-hours, seats). The files come from the user's own systems,
as UTF-8 CSV files (header row, columns matched by name, in any order) anywhere under
``FINOPS_USAGE_DRIVERS_URI`` (an ``s3://bucket/prefix`` or a local folder; default
``$FINOPS_DATA_DIR/usage-drivers``):

- ``billing_period`` (``YYYY-MM``) or ``usage_date`` (``YYYY-MM-DD``; daily rows are summed
  into their month);
- ``pool``: a ``rule_name`` of seed ``shared_cost_rules`` whose ``split_method`` is ``usage``;
- ``consumer``: a team of seed ``teams``, or another pool (a ``rule_name`` of
  ``shared_cost_rules``) — the data platform consumes the shared database;
- ``quantity``: a number >= 0 (no thousands separators);
- ``unit``: what is counted (``requests``, ``GB-month``...), for people reading the explainer.

Every file is read and checked before anything is written, so a bad row (unknown pool or
consumer, a quantity that is negative or not a number, a missing column) stops the load
with one message naming the file and row, and leaves what was landed before exactly as it
was. The rows of each billing period are then landed as one parquet file,
``landing/usage_drivers/billing_period=YYYY-MM/usage_drivers.parquet``, written aside and
swapped in with an atomic rename (a re-delivered period replaces the previous one), with a
``.delivery.json`` sidecar whose id is a hash of the rows, so the incremental build
(orchestration/build_plan.py) rebuilds a period whose drivers changed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from orchestration.ingestion.conform import quote_literal
from orchestration.ingestion.errors import IngestionError
from orchestration.ingestion.storage import open_store
from orchestration.settings import DBT_PROJECT_DIR

FORMAT_NAME = "usage_drivers"  # landing/<this>/billing_period=YYYY-MM/usage_drivers.parquet
LANDING_FORMAT_VERSION = 1
REQUIRED_COLUMNS = ("pool", "consumer", "quantity", "unit")
PERIOD_COLUMNS = ("billing_period", "usage_date")
LANDING_COLUMNS = (
    ("billing_period", "DATE"),
    ("usage_date", "DATE"),
    ("pool", "VARCHAR"),
    ("consumer", "VARCHAR"),
    ("quantity", "DOUBLE"),
    ("unit", "VARCHAR"),
    ("_source_file", "VARCHAR"),
    ("_source_row", "BIGINT"),
)
_PERIOD = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


class UsageDriverError(IngestionError):
    """A usage driver file was refused; nothing was landed from it."""


@dataclass(frozen=True)
class DriverRow:
    billing_period: str  # YYYY-MM
    usage_date: str | None  # YYYY-MM-DD, for daily rows
    pool: str
    consumer: str
    quantity: float
    unit: str
    source_file: str
    source_row: int  # data row number in the file (1 = the first row after the header)


@dataclass(frozen=True)
class LandedDrivers:
    billing_period: str
    rows: int
    files: int
    status: str  # "landed" or "unchanged"


def ensure_usage_drivers_layout(landing_dir: Path) -> None:
    """Create ``landing/usage_drivers/`` with a zero-row schema file, as ensure_landing_layout does for the
    export formats: the dbt source (and Spark's external table over the folder) is then valid and typed
    before the first driver file is landed. Spark and the staging model's glob skip it (leading '_')."""
    folder = Path(landing_dir) / FORMAT_NAME
    schema_file = folder / "_empty.parquet"
    if schema_file.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "._empty.parquet.tmp"
    columns = ", ".join(f"CAST(NULL AS {type_}) AS {name}" for name, type_ in LANDING_COLUMNS)
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT {columns} WHERE false) TO {quote_literal(str(tmp))} (FORMAT parquet)")
    tmp.replace(schema_file)


def usage_drivers_uri(data_dir: Path) -> str:
    """Where usage driver files are read from: FINOPS_USAGE_DRIVERS_URI, else <data_dir>/usage-drivers."""
    return os.environ.get("FINOPS_USAGE_DRIVERS_URI") or str(Path(data_dir) / "usage-drivers")


def known_pools_and_teams(seeds_dir: Path = DBT_PROJECT_DIR / "seeds") -> tuple[dict[str, str], set[str]]:
    """({pool rule_name: split_method}, {team}) from seeds shared_cost_rules and teams."""
    with open(seeds_dir / "shared_cost_rules.csv", newline="") as f:
        pools = {row["rule_name"].strip(): row["split_method"].strip() for row in csv.DictReader(f)}
    with open(seeds_dir / "teams.csv", newline="") as f:
        teams = {row["team"].strip() for row in csv.DictReader(f)}
    return pools, teams


def _period_of(value: str, column: str) -> tuple[str, str | None] | None:
    match = _PERIOD.match(value.strip())
    if not match:
        return None
    year, month, day = match.groups()
    if column == "usage_date" and day is None:
        return None
    try:
        date(int(year), int(month), int(day or 1))
    except ValueError:
        return None
    return f"{year}-{month}", (f"{year}-{month}-{day}" if day else None)


def parse_driver_file(text: str, where: str, pools: dict[str, str], teams: set[str]) -> list[DriverRow]:
    """Every row of one driver file, checked; raises UsageDriverError naming ``where`` and the row."""
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    period_column = next((c for c in PERIOD_COLUMNS if c in header), None)
    if period_column is None:
        missing.insert(0, "billing_period or usage_date")
    if missing:
        raise UsageDriverError(
            f"{where}: usage driver file is missing column(s) {', '.join(missing)}; the header must name "
            "billing_period (YYYY-MM) or usage_date (YYYY-MM-DD), pool, consumer, quantity, unit. "
            "Fix the file and load again; nothing was landed from it.")
    reader.fieldnames = header
    rows = []
    for number, raw in enumerate(reader, start=1):
        values = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(values.values()):
            continue  # a blank line
        problem = None
        period = _period_of(values[period_column], period_column)
        pool, consumer = values["pool"], values["consumer"]
        try:
            quantity = float(values["quantity"])
        except ValueError:
            quantity = None
        if period is None:
            expected = "YYYY-MM-DD" if period_column == "usage_date" else "YYYY-MM"
            problem = f"{period_column} {values[period_column]!r} is not a date ({expected})"
        elif pool not in pools:
            problem = (f"pool {pool!r} is not a rule_name of seed shared_cost_rules; add the pool there "
                       "(split_method usage) or correct the name")
        elif pools[pool] != "usage":
            problem = (f"pool {pool!r} splits by {pools[pool]!r}, not by usage; set its split_method to usage "
                       "in seed shared_cost_rules or drop its rows from the file")
        elif consumer not in teams and consumer not in pools:
            problem = (f"consumer {consumer!r} is neither a team of seed teams nor a pool of seed "
                       "shared_cost_rules; add it there or correct the name")
        elif consumer in teams and consumer in pools:
            problem = (f"consumer {consumer!r} is both a team (seed teams) and a pool (seed shared_cost_rules); "
                       "rename the pool so that the consumer is unambiguous")
        elif consumer == pool:
            problem = f"pool {pool!r} names itself as a consumer; drop the row (a pool cannot pay itself)"
        elif quantity is None or quantity != quantity or quantity in (float("inf"), float("-inf")):
            problem = f"quantity {values['quantity']!r} is not a number"
        elif quantity < 0:
            problem = f"quantity {values['quantity']} is negative; usage is counted as 0 or more"
        if problem:
            raise UsageDriverError(
                f"{where}: row {number}: {problem}. Nothing was landed from this load; "
                "what was landed before is unchanged.")
        rows.append(DriverRow(period[0], period[1], pool, consumer, quantity, values["unit"], where, number))
    return rows


def read_driver_files(uri: str, pools: dict[str, str], teams: set[str]) -> tuple[list[DriverRow], int]:
    """Every row of every ``*.csv`` under ``uri`` (checked), and the number of files. A local folder that
    does not exist yet holds no drivers."""
    if "://" not in uri and not Path(uri).exists():
        return [], 0
    store = open_store(uri)
    keys = [o.key for o in store.list_objects() if o.key.lower().endswith(".csv")
            and not Path(o.key).name.startswith(".")]
    rows: list[DriverRow] = []
    for key in keys:
        where = store.describe(key)
        try:
            text = store.read_bytes(key).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UsageDriverError(f"{where}: not a UTF-8 text file ({exc.reason}); save it as UTF-8 CSV. "
                                   "Nothing was landed from this load.") from exc
        rows.extend(parse_driver_file(text, where, pools, teams))
    return rows, len(keys)


def _delivery_id(rows: list[DriverRow]) -> str:
    """A hash of what the allocation reads (not of where the files are: the same rows moved to another
    folder or bucket are the same delivery)."""
    digest = hashlib.sha256()
    for r in sorted(rows, key=lambda r: (r.pool, r.consumer, r.usage_date or "", r.quantity, r.unit)):
        digest.update(repr((r.usage_date, r.pool, r.consumer, r.quantity, r.unit)).encode())
    return digest.hexdigest()[:16]


def _write_period(folder: Path, rows: list[DriverRow], delivery_id: str) -> None:
    """Write the rows aside, then swap the parquet file and its sidecar in (atomic renames)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{FORMAT_NAME}.parquet"
    tmp = folder / f".{FORMAT_NAME}.{uuid.uuid4().hex}.tmp"
    columns = ", ".join(f"{name} {type_}" for name, type_ in LANDING_COLUMNS)
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE drivers ({columns})")
        con.executemany(
            "INSERT INTO drivers VALUES (CAST(? AS DATE), CAST(? AS DATE), ?, ?, ?, ?, ?, ?)",
            [(r.billing_period + "-01", r.usage_date, r.pool, r.consumer, r.quantity, r.unit, r.source_file,
              r.source_row) for r in rows])
        con.execute(f"COPY drivers TO {quote_literal(str(tmp))} (FORMAT parquet)")
    sidecar_tmp = tmp.with_suffix(".json.tmp")
    sidecar_tmp.write_text(json.dumps({"delivery_id": delivery_id, "landing_format_version": LANDING_FORMAT_VERSION,
                                       "rows": len(rows)}))
    tmp.replace(target)
    sidecar_tmp.replace(folder / f"{FORMAT_NAME}.delivery.json")


def land_usage_drivers(uri: str, landing_dir: Path, *, periods: list[str] | None = None,
                       seeds_dir: Path = DBT_PROJECT_DIR / "seeds") -> list[LandedDrivers]:
    """Check every driver file under ``uri``, then land the rows of each billing period (of ``periods``,
    or all) as one parquet file, replacing that period's previous drivers atomically. A period whose rows
    are the same as those landed is left alone ("unchanged")."""
    pools, teams = known_pools_and_teams(seeds_dir)
    rows, _ = read_driver_files(uri, pools, teams)
    ensure_usage_drivers_layout(landing_dir)
    by_period: dict[str, list[DriverRow]] = {}
    for row in rows:
        if periods is None or row.billing_period in periods:
            by_period.setdefault(row.billing_period, []).append(row)
    results = []
    for period, period_rows in sorted(by_period.items()):
        folder = Path(landing_dir) / FORMAT_NAME / f"billing_period={period}"
        delivery_id = _delivery_id(period_rows)
        sidecar = folder / f"{FORMAT_NAME}.delivery.json"
        files = len({r.source_file for r in period_rows})
        if (folder / f"{FORMAT_NAME}.parquet").exists() and sidecar.exists() and \
                json.loads(sidecar.read_text()).get("delivery_id") == delivery_id:
            results.append(LandedDrivers(period, len(period_rows), files, "unchanged"))
            continue
        try:
            _write_period(folder, period_rows, delivery_id)
        except OSError as exc:
            raise UsageDriverError(f"cannot write usage drivers to {folder}: {exc.strerror or exc}; make it "
                                   "writable or set FINOPS_DATA_DIR elsewhere") from exc
        results.append(LandedDrivers(period, len(period_rows), files, "landed"))
    return results


def periods_with_new_drivers(uri: str, landing_dir: Path, periods: list[str],
                             seeds_dir: Path = DBT_PROJECT_DIR / "seeds") -> set[str]:
    """Which of ``periods`` have driver rows that differ from those landed: `finops build` lands
    them even when the period's billing exports are unchanged. A file that would be refused marks
    every period, so that the landing run reports it."""
    try:
        pools, teams = known_pools_and_teams(seeds_dir)
        rows, _ = read_driver_files(uri, pools, teams)
    except IngestionError:
        return set(periods)
    by_period: dict[str, list[DriverRow]] = {}
    for row in rows:
        by_period.setdefault(row.billing_period, []).append(row)
    changed = set()
    for period in periods:
        if period not in by_period:
            continue
        sidecar = Path(landing_dir) / FORMAT_NAME / f"billing_period={period}" / f"{FORMAT_NAME}.delivery.json"
        landed = json.loads(sidecar.read_text()).get("delivery_id") if sidecar.exists() else None
        if landed != _delivery_id(by_period[period]):
            changed.add(period)
    return changed
