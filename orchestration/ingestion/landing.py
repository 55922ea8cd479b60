"""The landing store: per format and billing period, one parquet file per export.

Replacing a period is atomic: the new file is written beside the old one under
a temporary name and moved over it with ``os.replace`` (a rename on one file
system), so a reader sees either the old delivery or the new one, never both
and never a half-written file.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from orchestration.duckdb_setup import install_bundled_extensions
from orchestration.ingestion.conform import (
    GzipCheck,
    build_conform_query,
    delivery_kind,
    file_kind,
    is_unparseable_value_error,
    quote_literal,
    raise_on_unparseable_values,
    reader_sql,
)
from orchestration.ingestion.discovery import Delivery, deliveries_for_periods, discover_deliveries
from orchestration.ingestion.errors import IngestionError
from orchestration.ingestion.profile import profile_landing_file, refusal_reasons
from orchestration.ingestion.storage import ExportStore, open_store
from orchestration.ingestion.usage_drivers import ensure_usage_drivers_layout
from orchestration.landing_schema import FORMATS, SCHEMAS


def empty_select_sql(format_name: str) -> str:
    """A zero-row SELECT with exactly the landing columns and types of a format."""
    columns = ", ".join(
        f'CAST(NULL AS {type_}) AS "{name}"' for name, type_ in SCHEMAS[format_name].landing_columns
    )
    return f"SELECT {columns} WHERE false"


def writable_folder(folder: Path) -> Path:
    """Create ``folder`` if needed and make sure files can be written in it.

    Without this check an unwritable landing folder surfaces as DuckDB failing to open
    its output, which read like a corrupt input file.  Raises IngestionError naming the
    folder and what to do.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe.{uuid.uuid4().hex}.tmp"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise IngestionError(f"cannot write to {folder}: {_write_failure(folder, exc)}") from exc
    return folder


def _write_failure(folder: Path, exc: OSError) -> str:
    """Why a folder cannot be written to, and what to do about it."""
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            return (f"{blocker} is a file, not a folder; move that file away or set FINOPS_DATA_DIR to a folder "
                    "you can write to")
    reason = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or str(exc)).lower()
    return f"{reason}; make it writable or set FINOPS_DATA_DIR to a folder you can write to"


def ensure_landing_layout(landing_dir: Path) -> None:
    """Create the landing folders with a zero-row schema file per format.

    dbt's sources glob ``landing/<format>/**/*.parquet``; the schema file keeps
    that glob valid (and typed) before the first delivery of a format arrives.
    The schema file is rewritten when the landing contract gained columns since it was
    written: read with ``union_by_name``, it gives files landed by an older loader NULLs for
    the new columns until their delivery is landed again (LANDING_FORMAT_VERSION).
    """
    for format_name in FORMATS:
        folder = writable_folder(landing_dir / format_name)
        schema_file = folder / "_empty.parquet"
        wanted = [name for name, _ in SCHEMAS[format_name].landing_columns]
        if schema_file.exists() and pq.read_schema(schema_file).names == wanted:
            continue
        tmp = folder / "._empty.parquet.tmp"
        with duckdb.connect() as con:
            con.execute(f"COPY ({empty_select_sql(format_name)}) TO {quote_literal(str(tmp))} (FORMAT parquet)")
        tmp.replace(schema_file)
    ensure_usage_drivers_layout(landing_dir)  # the usage drivers of shared pools land beside the exports


log = logging.getLogger(__name__)

# Bumped whenever the way deliveries are conformed changes (columns, tag folding...):
# a delivery landed by an older loader is landed again, not kept as "unchanged".
# 3: the CUR split cost allocation columns (EKS pods, issue 20).
LANDING_FORMAT_VERSION = 3


@dataclass(frozen=True)
class LandingResult:
    format: str
    export_name: str
    billing_period: str
    delivery_id: str
    status: str  # loaded | unchanged | not_ready
    line_items: int
    billed_cost: float
    path: str

    def as_metadata(self) -> dict:
        return asdict(self)


def period_dir(landing_dir: Path, format_name: str, billing_period: str) -> Path:
    return landing_dir / format_name / f"billing_period={billing_period}"


def landing_file_name(export_name: str) -> str:
    # Export names become file names: keep them to a safe alphabet.
    return re.sub(r"[^A-Za-z0-9._@-]", "_", export_name) + ".parquet"


def landed_delivery(landing_dir: Path, delivery: Delivery) -> dict | None:
    """The sidecar of what is landed now for this export and period, if anything."""
    target = period_dir(landing_dir, delivery.format, delivery.billing_period) / landing_file_name(
        delivery.export_key)
    sidecar = target.with_suffix(".delivery.json")
    if target.exists() and sidecar.exists():
        return json.loads(sidecar.read_text())
    return None


# How landing files are written: snappy parquet, row groups of at most DuckDB's
# default 122,880 rows and of at most a byte budget (see _row_group_bytes).
PARQUET_WRITE_OPTIONS = "FORMAT parquet, COMPRESSION snappy"
ROW_GROUP_BYTES_MAX = 128 * 2**20
ROW_GROUP_BYTES_MIN = 16 * 2**20


def _row_group_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """The in-memory size at which a landing file's row group is cut.

    Each writing thread buffers a whole row group before encoding it, and these
    buffers are not all held to DuckDB's memory_limit.  A CUR row is wide (120
    columns, maps): at DuckDB's default of 122,880 rows a buffer reached ~0.5 GB
    a thread.  A sixth of each thread's share of the memory limit, at most
    128 MB (~57k CUR rows; the file is ~2% larger than with the default), keeps
    every writer's buffers well inside the limit.
    """
    threads, limit = con.execute(
        "SELECT current_setting('threads'), current_setting('memory_limit')").fetchone()
    share = _size_in_bytes(limit) // (6 * max(int(threads), 1))
    return max(ROW_GROUP_BYTES_MIN, min(ROW_GROUP_BYTES_MAX, share))


_SIZE_UNITS = {"": 1, "B": 1, "BYTES": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
               "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def _size_in_bytes(text: str) -> int:
    """``'3.7 GiB'`` (how DuckDB shows a memory setting) -> bytes; unknown forms count as 1 GB."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", str(text))
    if not match or match[2].upper() not in _SIZE_UNITS:
        return 10**9
    return int(float(match[1]) * _SIZE_UNITS[match[2].upper()])


def _connect(threads: int, memory_limit: str, temp_dir: Path) -> duckdb.DuckDBPyConnection:
    """The loader's DuckDB: the configured threads and memory limit, spilling into ``temp_dir``."""
    install_bundled_extensions()
    temp_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit,
                                 "temp_directory": str(temp_dir)})
    # Set after connecting: the built-in icu extension is not loaded yet while config applies.
    # (The conform query's timestamp conversion relies on UTC too: see conform._utc_timestamp.)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    # Row order in a landing file carries no meaning; not preserving it lets DuckDB write in
    # parallel, streaming, without holding rows back to restore their order.
    con.execute("SET preserve_insertion_order = false")
    # Each input file is read once: keeping its bytes in DuckDB's cache only takes memory.
    con.execute("SET enable_external_file_cache = false")
    return con


def _engine_settings(threads: int | None, memory_limit: str | None) -> tuple[int, str]:
    """Threads and memory limit: as given, else FINOPS_DUCKDB_THREADS / FINOPS_DUCKDB_MEMORY_LIMIT."""
    if threads is None or memory_limit is None:
        from orchestration.settings import Settings

        settings = Settings.from_env()
        threads = settings.duckdb_threads if threads is None else threads
        memory_limit = settings.duckdb_memory_limit if memory_limit is None else memory_limit
    return threads, memory_limit


def land_delivery(store: ExportStore, delivery: Delivery, landing_dir: Path, *, threads: int | None = None,
                  memory_limit: str | None = None, force: bool = False) -> LandingResult:
    """Land one delivery: validate and conform its files, then swap them in atomically.

    The previous landing file of this export and period stays in place until
    the new one is complete; any error leaves it untouched.  DuckDB runs with
    ``threads`` and ``memory_limit`` (default: the FINOPS_DUCKDB_* settings)
    and spills beyond the limit into the delivery's scratch folder under
    ``landing_dir``; the delivery is read as a stream, so memory stays bounded
    whatever its size.
    """
    if delivery.problem is not None:  # a broken manifest: this export and period keep what is landed
        raise delivery.problem
    ensure_landing_layout(landing_dir)
    target_dir = period_dir(landing_dir, delivery.format, delivery.billing_period)
    target = target_dir / landing_file_name(delivery.export_key)
    sidecar = target.with_suffix(".delivery.json")
    current = landed_delivery(landing_dir, delivery)
    if (current and current["delivery_id"] == delivery.delivery_id and not force
            and current.get("landing_format_version") == LANDING_FORMAT_VERSION):
        log.info("%s %s: delivery %s already landed", delivery.export_id, delivery.billing_period,
                 delivery.delivery_id)
        return LandingResult(delivery.format, delivery.export_key, delivery.billing_period,
                             delivery.delivery_id, "unchanged", current["line_items"], current["billed_cost"],
                             str(target))
    if not delivery.ready:
        log.warning("%s %s: AWS reports the export as UPDATE_IN_PROGRESS; keeping the landed delivery",
                    delivery.export_id, delivery.billing_period)
        return LandingResult(delivery.format, delivery.export_key, delivery.billing_period,
                             delivery.delivery_id, "not_ready", current["line_items"] if current else 0,
                             current["billed_cost"] if current else 0.0, str(target))

    writable_folder(target_dir)  # before anything is staged: an unwritable folder is not a bad delivery
    scratch = writable_folder(landing_dir / ".incoming") / uuid.uuid4().hex
    scratch.mkdir(parents=True)
    spill_dir = scratch.with_name(scratch.name + ".duckdb")  # DuckDB's temp files, beside the downloads
    tmp_target = target_dir / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        local_files = [store.local_path(key, scratch) for key in delivery.data_keys]
        key_of = dict(zip(map(str, local_files), delivery.data_keys))

        def describe(path: Path) -> str:
            return store.describe(key_of.get(str(path), str(path)))

        with _connect(*_engine_settings(threads, memory_limit), spill_dir) as con:
            stats = _write_landing_file(con, delivery, local_files, key_of, describe, tmp_target)
        tmp_target.replace(target)  # the atomic swap
        record = {"delivery_id": delivery.delivery_id, "landing_format_version": LANDING_FORMAT_VERSION,
                  "format": delivery.format,
                  "export_name": delivery.export_name, "export_key": delivery.export_key,
                  "export_folder": delivery.export_root, "payer_account_id": delivery.payer_account_id,
                  "billing_period": delivery.billing_period,
                  "layout": delivery.layout, "manifest": delivery.manifest_key,
                  "source_files": list(delivery.data_keys), "landed_at": _utc_now().isoformat(),
                  **stats}
        tmp_sidecar = target_dir / f".{sidecar.name}.tmp"
        tmp_sidecar.write_text(json.dumps(record, indent=2))
        tmp_sidecar.replace(sidecar)
        if delivery.export_key != delivery.export_name:
            _remove_unqualified_landing(target_dir, delivery)
    finally:
        tmp_target.unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(spill_dir, ignore_errors=True)
    log.info("%s %s: landed delivery %s: %d line items, billed %.2f", delivery.export_id,
             delivery.billing_period, delivery.delivery_id, stats["line_items"], stats["billed_cost"])
    return LandingResult(delivery.format, delivery.export_key, delivery.billing_period, delivery.delivery_id,
                         "loaded", stats["line_items"], stats["billed_cost"], str(target))


def _remove_unqualified_landing(target_dir: Path, delivery: Delivery) -> None:
    """Remove the file this export's name alone keyed before a second export of that name appeared.

    Until then the name was unique and the export landed as ``<name>.parquet``; kept beside the
    qualified ``<name>@<payer>.parquet`` it would count the period twice. Every export of that
    name now lands under its own qualified key.
    """
    unqualified = target_dir / landing_file_name(delivery.export_name)
    if unqualified.exists():
        log.info("%s %s: %s replaced by %s (another export has the same name)", delivery.export_id,
                 delivery.billing_period, unqualified.name, landing_file_name(delivery.export_key))
    unqualified.unlink(missing_ok=True)
    unqualified.with_suffix(".delivery.json").unlink(missing_ok=True)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _write_landing_file(con: duckdb.DuckDBPyConnection, delivery: Delivery, files: list[Path],
                        key_of: dict[str, str], describe, out: Path) -> dict:
    """Conform the files into ``out`` in one streaming pass; validate as they are read.

    Errors are reported in the order the checks were always made: an incomplete
    .gz file first, then a file that cannot be read, a missing column, and a
    value that does not parse (named with its file, column and data row).
    """
    delivery_kind(files, describe)  # a delivery mixing parquet and csv is refused before anything else
    gzip_check = GzipCheck(files, describe)  # runs beside the read below
    try:
        query = build_conform_query(con, files, delivery.format, describe)
        lineage = (
            f"DATE {quote_literal(delivery.billing_period + '-01')} AS _billing_period, "
            f"{quote_literal(delivery.export_id)} AS _export, "
            f"{quote_literal(delivery.delivery_id)} AS _delivery_id, "
            f"CASE filename {' '.join(f'WHEN {quote_literal(p)} THEN {quote_literal(k)}' for p, k in key_of.items())}"
            f" END AS _source_file, "
            f"TIMESTAMP {quote_literal(_utc_now().strftime('%Y-%m-%d %H:%M:%S'))} AS _loaded_at"
        )
        try:
            con.execute(
                f"COPY (SELECT * EXCLUDE (filename), {lineage} FROM ({query.select_sql})) "
                f"TO {quote_literal(str(out))} ({PARQUET_WRITE_OPTIONS}, ROW_GROUP_SIZE_BYTES {_row_group_bytes(con)})"
            )
        except duckdb.Error as exc:
            if not is_unparseable_value_error(exc):
                raise
            gzip_check.result()
            # Read the files again to name the first bad file, row and column, and count them.
            raise_on_unparseable_values(con, query, files, delivery.format, describe)
            raise IngestionError(f"{', '.join(describe(f) for f in files[:3])}: {_first_line(exc)}") from exc
        gzip_check.result()
    except IngestionError:
        gzip_check.result()
        raise
    except duckdb.Error as exc:
        gzip_check.result()
        culprit = _find_unreadable_file(con, files, delivery.format)
        where = describe(culprit) if culprit else ", ".join(describe(f) for f in files[:3])
        raise IngestionError(
            f"{where}: cannot read this {delivery.format} data file ({_first_line(exc)}). It is corrupt or "
            "truncated: re-deliver the period (or remove the file); nothing was loaded for it."
        ) from exc
    # Everything that refuses a delivery is checked here, on the staged file, before the swap.
    profile = profile_landing_file(con, out, delivery.format, delivery.billing_period, count_duplicates=False)
    reasons = refusal_reasons(profile, delivery.billing_period)
    if reasons:
        where = ", ".join(describe(f) for f in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        raise IngestionError(
            f"{where}: delivery {delivery.delivery_id} of {delivery.export_id} for {delivery.billing_period} "
            f"refused: {'; '.join(reasons)}. The previously landed delivery (if any) is kept; "
            "ask for a corrected delivery of the period.")
    return {"line_items": int(profile["row_count"]), "billed_cost": profile["billed_cost"]}


def _find_unreadable_file(con: duckdb.DuckDBPyConnection, files: list[Path], format_name: str) -> Path | None:
    for path in files:
        try:
            con.execute(f"SELECT count(*) FROM (SELECT * FROM {reader_sql([path], file_kind(path), format_name)})")
        except duckdb.Error:
            return path
    return None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def load_exports(export_uri: str, landing_dir: Path, *, periods: list[str] | None = None,
                 threads: int | None = None, memory_limit: str | None = None) -> list[LandingResult]:
    """Discover every export under ``export_uri`` and land the current delivery of each period.

    Each (export, period) is landed atomically on its own.  A delivery that is
    refused keeps its previous landing; every other one is still landed, then
    the refusal is raised (with the other periods' count, when there are several).
    """
    store = open_store(export_uri)
    deliveries = deliveries_for_periods(discover_deliveries(store), periods, store.uri)
    results, refused = [], []
    for delivery in deliveries:
        try:
            results.append(land_delivery(store, delivery, landing_dir, threads=threads, memory_limit=memory_limit))
        except IngestionError as exc:
            refused.append((delivery, exc))
    if len(refused) == 1:
        raise refused[0][1]
    if refused:
        raise IngestionError(f"{len(refused)} deliveries refused (the other {len(results)} were landed):\n  " +
                             "\n  ".join(f"{d.export_id} {d.billing_period}: {exc}" for d, exc in refused))
    return results
