"""Publish the ``marts`` schema for BI readers: a read-only copy that is never locked, never half-built.

DuckDB allows one writer per file, and a build rewrites ``warehouse.duckdb`` table by
table. A dashboard holding that file open would block the next build; a dashboard
reading during a build would see some marts new and some old. So BI tools read a
*published* copy instead, made after a build whose blocking checks passed:

``$FINOPS_DATA_DIR/published/finops.duckdb``
    every table of schema ``marts`` plus ``marts._published`` (one row: publish id,
    when it was built and published, billing periods, the DuckDB version that wrote
    it, the marts copied anew and every mart's fingerprint), with the build's table and
    column comments (the dbt descriptions, via persist_docs), which BI tools show.
    Written under a temporary name in the same folder, checkpointed, fsynced,
    then swapped in with ``os.replace`` — atomic on POSIX. A reader that already has
    the file open keeps reading the old inode until it reconnects; a reader that
    connects after the swap sees the new version (in this project's code through
    :func:`open_published`: see there why not ``duckdb.connect(path)``); nobody sees a mix.

``$FINOPS_DATA_DIR/published/parquet/<mart>.parquet``
    the same tables as parquet. ``parquet`` is a symlink to a versioned folder
    ``parquet-versions/<publish id>/``; a new version is written beside the old one
    and the symlink is replaced atomically. To read several files of one version,
    resolve the link once (``os.path.realpath``) and read from there. The previous
    versions are kept (``KEEP_PARQUET_VERSIONS``) so a slow reader is not cut off.

Only what changed is copied: a mart whose fingerprint (rows, columns, comments) equals the
one recorded in the current publication is carried over, in the DuckDB file by starting
from a byte copy of the current file, in the parquet folder as a hard link to the current
version's file. When no mart changed, nothing is written at all: the current publication
stays in place byte for byte and the result says ``unchanged``.

Anything that fails before the swap leaves the previous published version exactly as
it was (byte for byte); only leftover temporary files are removed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from orchestration.ingestion.conform import quote_literal

log = logging.getLogger(__name__)

SCHEMA = "marts"
METADATA_TABLE = "_published"
PUBLISHED_FILE = "finops.duckdb"
PARQUET_LINK = "parquet"
PARQUET_VERSIONS = "parquet-versions"
KEEP_PARQUET_VERSIONS = 3
# The mart whose billing periods describe the whole publication (the allocation grain).
PERIOD_SOURCE = "fct_cost_allocated_daily"


class PublishError(Exception):
    """Publishing failed; the previous published version is still in place."""


@dataclass(frozen=True)
class Publication:
    """What one publish wrote (also recorded in ``marts._published``), or the one kept when nothing changed."""

    publish_id: str
    path: Path
    parquet_dir: Path
    published_at: datetime
    built_at: datetime
    billing_periods: list[str]
    tables: list[str]
    duckdb_version: str
    row_counts: dict[str, int] = field(default_factory=dict)
    status: str = "published"  # or "unchanged": no mart changed, the current publication was kept
    # How the DuckDB file was written: "full" (every mart), "incremental" (a copy of the previous file with
    # changed_tables replaced), "none" (unchanged). Unchanged marts' parquet files are hard links either way.
    method: str = "full"
    changed_tables: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict:
        return {"status": self.status, "publish_id": self.publish_id, "path": str(self.path),
                "parquet_dir": str(self.parquet_dir), "published_at": self.published_at.isoformat(),
                "built_at": self.built_at.isoformat(), "billing_periods": ", ".join(self.billing_periods) or "none",
                "tables": len(self.tables), "method": self.method,
                "changed_tables": ", ".join(self.changed_tables) or "none", "duckdb_version": self.duckdb_version}


def published_dir(data_dir: Path | str) -> Path:
    return Path(data_dir) / "published"


def published_path(data_dir: Path | str) -> Path:
    """``$FINOPS_DATA_DIR/published/finops.duckdb``: the file BI tools open read-only."""
    return published_dir(data_dir) / PUBLISHED_FILE


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_marts(warehouse_path: Path | str, data_dir: Path | str, *, full: bool = False) -> Publication:
    """Publish schema ``marts`` of the build file, copying only the marts that changed; atomically.

    Each mart's fingerprint (row count, a sum of row hashes, its columns and comments: see
    :func:`_fingerprints`) is compared with the one recorded in the current publication.
    Nothing changed: nothing is written and the current publication is returned with
    ``status="unchanged"``. Otherwise the new file starts as a byte copy of the current one
    (a plain file copy, far cheaper than re-encoding every table), the changed marts are
    replaced from the build file, and the unchanged marts' parquet files are hard links of the
    current version's. The DuckDB file is written anew instead (every mart) when the current
    file is more than half free blocks; and everything is written anew (no links) with
    ``full=True``, on a first publication, or over one written by another DuckDB version or
    an earlier release (no fingerprints).

    Raises :class:`PublishError` (and leaves the previous publication untouched) when the
    build file is missing, holds no marts, or anything goes wrong before the swap.
    """
    warehouse_path = Path(warehouse_path)
    out_dir = published_dir(data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not warehouse_path.exists():
        raise PublishError(f"{warehouse_path}: no build file to publish (run `finops build` first)")
    published_at = datetime.now(timezone.utc).replace(microsecond=0)
    publish_id = f"{published_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    built_at = datetime.fromtimestamp(warehouse_path.stat().st_mtime, timezone.utc).replace(microsecond=0)
    tmp_file = out_dir / f".{PUBLISHED_FILE}.{publish_id}.tmp"
    versions_dir = out_dir / PARQUET_VERSIONS
    parquet_dir = versions_dir / publish_id
    tmp_parquet = versions_dir / f".{publish_id}.tmp"
    try:
        with duckdb.connect() as con:  # in memory: the build, the current and the new publication are attached
            con.execute("SET TimeZone = 'UTC'")
            # Attached under its own name (the file's stem, as dbt-duckdb names the database): the
            # views among the marts refer to their tables as "<that name>"."intermediate"."...".
            build = warehouse_path.stem
            con.execute(f"ATTACH {quote_literal(str(warehouse_path))} AS {_quote(build)} (READ_ONLY)")
            tables = [name for (name,) in con.execute(
                "select table_name from information_schema.tables where table_catalog = ? and table_schema = ? "
                "and table_name <> ? order by table_name", [build, SCHEMA, METADATA_TABLE]).fetchall()]
            if not tables:
                raise PublishError(f"{warehouse_path}: schema '{SCHEMA}' holds no tables; nothing was published")
            fingerprints = _fingerprints(con, build, tables)
            previous = None if full else _current_publication(con, out_dir)
            if previous is not None and previous.unchanged(fingerprints):
                log.info("nothing changed since publication %s: %s left as it was", previous.publish_id,
                         published_path(data_dir))
                return previous.as_unchanged(published_path(data_dir), out_dir / PARQUET_LINK)
            if previous is not None and not previous.same_version:
                previous = None  # another DuckDB version's row hashes and file: nothing to compare or reuse
            changed = [t for t in tables if previous is None or previous.fingerprints.get(t) != fingerprints[t]]
            # A byte copy plus the changed marts costs about what a rewrite does even when every mart
            # changed, and far less otherwise (benchmarks/publish_speed.py): copy whenever there is a base.
            incremental = previous is not None and not previous.fragmented
            periods = _write_publication(
                con, build, tables, changed, previous, incremental, tmp_file, tmp_parquet,
                record=dict(publish_id=publish_id, published_at=published_at.replace(tzinfo=None),
                            built_at=built_at.replace(tzinfo=None), tables=tables, duckdb_version=duckdb.__version__,
                            source_file=warehouse_path.name, changed_tables=changed),
                fingerprints=fingerprints)
        if Path(f"{tmp_file}.wal").exists():  # every change must be in the file itself before it is swapped in
            raise PublishError(f"{tmp_file}: DuckDB left a write-ahead log after the checkpoint")
        _fsync(tmp_file)
        tmp_parquet.rename(parquet_dir)  # complete before anything points at it
        # The swap: the database file first, then the parquet pointer (each atomic on its own).
        os.replace(tmp_file, published_path(data_dir))
        _swap_symlink(out_dir / PARQUET_LINK, Path(PARQUET_VERSIONS) / publish_id)
        _fsync(out_dir)
    except Exception as exc:
        for leftover in (tmp_file, Path(f"{tmp_file}.wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(tmp_parquet, ignore_errors=True)
        if not (out_dir / PARQUET_LINK).exists() or (out_dir / PARQUET_LINK).resolve() != parquet_dir.resolve():
            shutil.rmtree(parquet_dir, ignore_errors=True)
        if isinstance(exc, PublishError):
            raise
        raise PublishError(f"publishing {warehouse_path} to {out_dir} failed: {exc}; "
                           f"the previous published version is unchanged") from exc
    _prune_parquet_versions(versions_dir, keep=KEEP_PARQUET_VERSIONS, current=publish_id)
    publication = Publication(
        publish_id=publish_id, path=published_path(data_dir), parquet_dir=out_dir / PARQUET_LINK,
        published_at=published_at, built_at=built_at, billing_periods=periods, tables=tables,
        duckdb_version=duckdb.__version__, row_counts={t: fingerprints[t].rows for t in tables},
        status="published", method="incremental" if incremental else "full", changed_tables=changed)
    log.info("published %d marts (%s; %s, %d copied) to %s", len(tables), ", ".join(periods), publication.method,
             len(changed), publication.path)
    return publication


@dataclass(frozen=True)
class Fingerprint:
    """What identifies a mart's published content: rows, columns and comments.

    ``rows_hash`` is the sum of DuckDB's ``hash()`` of every row (all its columns, floating
    point ones to 10 significant digits: see :func:`_comparable`) as a HUGEINT: independent
    of row order (dbt does not keep one), and unlike ``bit_xor`` two equal rows do not
    cancel out. It costs one scan of the mart, a fraction of what re-encoding it costs
    (benchmarks/publish_speed.py). DuckDB's own table statistics are not a reliable
    change signal, and a view's rows change whenever the tables under it do.
    """

    rows: int
    rows_hash: str
    columns: str  # md5 of the column names and types, in order
    comments: str  # md5 of the table and column comments

    def encode(self) -> str:
        return f"{self.rows}:{self.rows_hash}:{self.columns}:{self.comments}"

    @classmethod
    def decode(cls, text: str) -> Fingerprint:
        rows, rows_hash, columns, comments = text.split(":")
        return cls(int(rows), rows_hash, columns, comments)


def _fingerprints(con: duckdb.DuckDBPyConnection, database: str, tables: list[str]) -> dict[str, Fingerprint]:
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in con.execute(
            "select table_name, column_name, data_type from duckdb_columns() where database_name = ? "
            "and schema_name = ? order by table_name, column_index", [database, SCHEMA]).fetchall():
        columns.setdefault(table, []).append((column, data_type))
    comments = {table: md5 for table, md5 in con.execute(
        "select table_name, md5(string_agg(coalesce(column_name, '') || '=' || comment, chr(10) "
        "order by column_name nulls first)) from ("
        "  select table_name, null as column_name, comment from duckdb_tables() "
        "  where database_name = $1 and schema_name = $2 and comment is not null union all "
        "  select view_name, null, comment from duckdb_views() "
        "  where database_name = $1 and schema_name = $2 and comment is not null union all "
        "  select table_name, column_name, comment from duckdb_columns() "
        "  where database_name = $1 and schema_name = $2 and comment is not null) group by table_name",
        [database, SCHEMA]).fetchall()}
    result = {}
    for table in tables:
        described = columns.get(table, [])
        values = ", ".join(_comparable(column, data_type) for column, data_type in described)
        rows, rows_hash = con.execute(
            f"select count(*), coalesce(sum(hash({values})::hugeint), 0)::varchar "
            f"from {_quote(database)}.{SCHEMA}.{_quote(table)}").fetchone()
        layout = hashlib.md5(", ".join(f"{c} {t}" for c, t in described).encode()).hexdigest()
        result[table] = Fingerprint(rows, rows_hash, layout, comments.get(table, ""))
    return result


def _comparable(column: str, data_type: str) -> str:
    """A column as the fingerprint hashes it: floating point to 10 significant digits.

    DuckDB sums DOUBLEs in parallel, in whatever order the threads finish, so the same
    input can give a total that differs in its last bits from one build to the next
    (1e-16 relative: seen in fct_budget_forecast_monthly and fct_unit_cost_monthly of two
    builds of the same deliveries). That is not a change worth a new publication; a
    difference in the 10th significant digit (a thousandth of a cent on 10 million) is.
    """
    if data_type not in ("DOUBLE", "FLOAT"):
        return _quote(column)
    value = _quote(column)
    return (f"(case when {value} = 0 or not isfinite({value}) then {value} "
            f"else round({value}, 9 - floor(log10(abs({value})))::int) end)")


@dataclass(frozen=True)
class _Current:
    """The publication in place (``marts._published`` and its parquet folder), as a base for the next."""

    publish_id: str
    path: Path
    parquet_dir: Path | None
    published_at: datetime
    built_at: datetime
    billing_periods: list[str]
    tables: list[str]
    fingerprints: dict[str, Fingerprint]
    same_version: bool  # written by this DuckDB version (the row hashes, and the file format, are its own)
    fragmented: bool  # more than half free blocks: rewrite it whole rather than copy it again

    def parquet_complete(self) -> bool:
        return self.parquet_dir is not None and all(
            (self.parquet_dir / f"{t}.parquet").is_file() for t in [*self.tables, METADATA_TABLE])

    def unchanged(self, fingerprints: dict[str, Fingerprint]) -> bool:
        return self.same_version and self.fingerprints == fingerprints and self.parquet_complete()

    def as_unchanged(self, path: Path, parquet_link: Path) -> Publication:
        return Publication(
            publish_id=self.publish_id, path=path, parquet_dir=parquet_link,
            published_at=self.published_at.replace(tzinfo=timezone.utc),
            built_at=self.built_at.replace(tzinfo=timezone.utc), billing_periods=self.billing_periods,
            tables=self.tables, duckdb_version=duckdb.__version__,
            row_counts={t: self.fingerprints[t].rows for t in self.tables}, status="unchanged", method="none")


PREVIOUS = "__current_publication"


def _current_publication(con: duckdb.DuckDBPyConnection, out_dir: Path) -> _Current | None:
    """The current publication, attached read-only as ``PREVIOUS``; None when there is none to build on.

    A file from before fingerprints were recorded, or one this process cannot read, is
    simply not reused: the next publication is written in full.
    """
    path = out_dir / PUBLISHED_FILE
    if not path.is_file():
        return None
    try:
        con.execute(f"ATTACH {quote_literal(str(path))} AS {PREVIOUS} (READ_ONLY)")
        row = con.execute(
            f"select publish_id, published_at, built_at, billing_periods, tables, duckdb_version, fingerprints "
            f"from {PREVIOUS}.{SCHEMA}.{METADATA_TABLE}").fetchone()
        free_blocks, total_blocks = con.execute(
            "select free_blocks, total_blocks from pragma_database_size() where database_name = ?",
            [PREVIOUS]).fetchone()
    except duckdb.Error as exc:
        log.info("the current publication %s is not reused (%s): publishing every mart", path, exc)
        return None
    publish_id, published_at, built_at, periods, tables, version, fingerprints = row
    link = out_dir / PARQUET_LINK
    # A file accumulates free blocks as replaced marts are dropped: past half, rewrite it whole (compacted).
    return _Current(publish_id=publish_id, path=path, parquet_dir=link.resolve() if link.is_dir() else None,
                    published_at=published_at, built_at=built_at, billing_periods=list(periods),
                    tables=list(tables), fingerprints={t: Fingerprint.decode(f) for t, f in fingerprints.items()},
                    same_version=version == duckdb.__version__,
                    fragmented=total_blocks > 0 and free_blocks * 2 > total_blocks)


NEW = "__new_publication"


def _write_publication(con: duckdb.DuckDBPyConnection, build: str, tables: list[str], changed: list[str],
                       previous: _Current | None, incremental: bool, tmp_file: Path, tmp_parquet: Path, *,
                       record: dict, fingerprints: dict[str, Fingerprint]) -> list[str]:
    """Write the new publication under its temporary names; returns its billing periods.

    ``incremental``: start from a byte copy of the previous file (readers of that file are
    not affected: the copy is a new inode) and replace only ``changed``; else write every
    table. The parquet files of the marts not in ``changed`` are hard links of ``previous``'s.
    """
    tmp_parquet.mkdir(parents=True)
    if incremental:
        shutil.copyfile(previous.path, tmp_file)
    con.execute(f"ATTACH {quote_literal(str(tmp_file))} AS {NEW}")
    written = changed if incremental else tables
    if not incremental:
        con.execute(f"CREATE SCHEMA {NEW}.{SCHEMA}")
    else:
        for table in sorted({*changed, METADATA_TABLE} | (set(previous.tables) - set(tables))):
            con.execute(f"DROP TABLE IF EXISTS {NEW}.{SCHEMA}.{_quote(table)}")
        # Frees the dropped marts' blocks now, so the new rows reuse them instead of growing the file.
        con.execute(f"CHECKPOINT {NEW}")
    # One transaction for the tables, their comments and the record: a commit per COMMENT (there are
    # hundreds) cost more than copying the rows of a small organisation.
    con.execute("BEGIN TRANSACTION")
    for table in written:  # views are materialised too: the copy must not depend on the build file
        con.execute(f"CREATE TABLE {NEW}.{SCHEMA}.{_quote(table)} AS "
                    f"SELECT * FROM {_quote(build)}.{SCHEMA}.{_quote(table)}")
    _copy_comments(con, build, written)
    periods = previous.billing_periods if previous is not None else []
    if PERIOD_SOURCE in written:
        periods = [p for (p,) in con.execute(
            f"select distinct strftime(billing_period, '%Y-%m') from {NEW}.{SCHEMA}.{PERIOD_SOURCE} order by 1"
        ).fetchall()]
    elif PERIOD_SOURCE not in tables:
        periods = []
    con.execute(f"""
        CREATE TABLE {NEW}.{SCHEMA}.{METADATA_TABLE} AS SELECT
            $publish_id::varchar AS publish_id, $published_at::timestamp AS published_at,
            $built_at::timestamp AS built_at, $billing_periods::varchar[] AS billing_periods,
            $tables::varchar[] AS tables, $duckdb_version::varchar AS duckdb_version,
            $source_file::varchar AS source_file, $changed_tables::varchar[] AS changed_tables,
            map($names::varchar[], $fingerprints::varchar[]) AS fingerprints""",
        {**record, "billing_periods": periods, "names": list(fingerprints),
         "fingerprints": [f.encode() for f in fingerprints.values()]})
    con.execute(f"COMMENT ON TABLE {NEW}.{SCHEMA}.{METADATA_TABLE} IS "
                "'One row describing this publication: when the build ran and was published, the billing "
                "periods it holds, the marts it copied anew (changed_tables; the others are those of the "
                "previous publication), and the DuckDB version that wrote the file (open it with the same version).'")
    con.execute("COMMIT")
    for table in [*tables, METADATA_TABLE]:
        target = tmp_parquet / f"{table}.parquet"
        if table in changed or table == METADATA_TABLE or not _link_previous(previous, table, target):
            con.execute(f"COPY {NEW}.{SCHEMA}.{_quote(table)} TO {quote_literal(str(target))} "
                        "(FORMAT parquet, COMPRESSION zstd)")
    con.execute(f"CHECKPOINT {NEW}")
    con.execute(f"DETACH {NEW}")
    return periods


def _link_previous(previous: _Current | None, table: str, target: Path) -> bool:
    """Hard-link an unchanged mart's parquet file from the current version folder (no copy, no re-encode).

    Safe because published parquet files are never written in place: pruning an old
    version only drops one of the links. False when there is nothing to link (the caller
    writes the file).
    """
    if previous is None or previous.parquet_dir is None:
        return False
    try:
        os.link(previous.parquet_dir / f"{table}.parquet", target)
    except OSError:  # missing, or a file system without hard links
        return False
    return True


def _copy_comments(con: duckdb.DuckDBPyConnection, build: str, tables: list[str]) -> None:
    """Re-apply the marts' table and column comments (dbt's persist_docs) to their copies.

    CREATE TABLE AS copies rows, not comments; BI tools (Superset, Metabase) show these
    descriptions, so the published file must carry them. Written in the temporary file
    before the swap: a reader sees the comments with the rows or not at all.
    """
    relations = con.execute(
        "select table_name, comment from duckdb_tables() where database_name = ? and schema_name = ? "
        "and comment is not null union all "
        "select view_name, comment from duckdb_views() where database_name = ? and schema_name = ? "
        "and comment is not null", [build, SCHEMA, build, SCHEMA]).fetchall()
    columns = con.execute(
        "select table_name, column_name, comment from duckdb_columns() where database_name = ? "
        "and schema_name = ? and comment is not null", [build, SCHEMA]).fetchall()
    published = set(tables)
    for table, comment in relations:
        if table in published:
            con.execute(f"COMMENT ON TABLE {NEW}.{SCHEMA}.{_quote(table)} IS {quote_literal(comment)}")
    for table, column, comment in columns:
        if table in published:
            con.execute(f"COMMENT ON COLUMN {NEW}.{SCHEMA}.{_quote(table)}.{_quote(column)} "
                        f"IS {quote_literal(comment)}")


def _swap_symlink(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` atomically (a new symlink renamed over the old one)."""
    tmp_link = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.tmp")
    os.symlink(target, tmp_link, target_is_directory=True)
    if link.exists() and not link.is_symlink():  # a plain folder from an older layout: move it out of the way
        shutil.rmtree(link)
    os.replace(tmp_link, link)


def _prune_parquet_versions(versions_dir: Path, keep: int, current: str) -> None:
    # Oldest first by when the folder was written: publish ids sort by second only (then a random
    # suffix), so two publications within one second would otherwise compare at random.
    versions = sorted((p for p in versions_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: (p.stat().st_mtime_ns, p.name))
    for old in versions[:-keep]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def open_published(data_dir: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current published file, always the latest publication.

    Not ``duckdb.connect(path)``: DuckDB shares one database instance per path within a
    process, so while any connection to the published file stays open (a notebook, a
    dashboard in the same process), connecting by path again returns that instance, still
    reading the file the swap replaced. ATTACHing in a fresh in-memory database opens the
    path anew. Its catalog is selected, so ``marts.<table>`` resolves as usual.
    """
    path = published_path(data_dir)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH {quote_literal(str(path))} AS published (READ_ONLY)")
        con.execute("USE published")
    except BaseException:
        con.close()
        raise
    return con


def read_publication(data_dir: Path | str) -> dict | None:
    """The ``marts._published`` row of the current published file, or None when nothing is published."""
    if not published_path(data_dir).exists():
        return None
    with open_published(data_dir) as con:
        row = con.execute(f"select * from {SCHEMA}.{METADATA_TABLE}").fetchone()
        names = [d[0] for d in con.description]
    return dict(zip(names, row))


def build_publish_asset(mart_keys, *, group_name: str = "publish"):
    """The Dagster asset ``published_warehouse``, downstream of every mart asset.

    Blocking checks on the marts (dbt tests, Great Expectations) stop it from running,
    so a build that failed them leaves the previous publication in place.
    """
    import dagster as dg

    @dg.asset(key=dg.AssetKey(["published_warehouse"]), group_name=group_name, compute_kind="duckdb",
              deps=sorted(mart_keys, key=lambda k: k.to_user_string()), required_resource_keys={"finops"},
              description="Read-only copy of schema marts for BI tools: $FINOPS_DATA_DIR/published/finops.duckdb "
                          "and published/parquet/<mart>.parquet, swapped in atomically after a build whose "
                          "blocking checks passed. Only the marts that changed are copied; when none did, the "
                          "current publication stays as it is (metadata status: unchanged).")
    def published_warehouse(context):  # dagster imported lazily: no annotations (string-typed here)
        data_dir = Path(context.resources.finops.data_dir)
        publication = publish_marts(data_dir / "warehouse.duckdb", data_dir)
        if publication.status == "unchanged":
            context.log.info(f"no mart changed since publication {publication.publish_id}: it stays in place")
        meta = publication.as_metadata()
        meta["path"] = dg.MetadataValue.path(str(publication.path))
        meta["row_counts"] = dg.MetadataValue.json(publication.row_counts)
        return dg.MaterializeResult(metadata=meta)

    return published_warehouse
