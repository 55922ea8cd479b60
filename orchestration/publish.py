"""Publish the ``marts`` schema for BI readers: a read-only copy that is never locked, never half-built.

DuckDB allows one writer per file, and a build rewrites ``warehouse.duckdb`` table by
table. A dashboard holding that file open would block the next build; a dashboard
reading during a build would see some marts new and some old. So BI tools read a
*published* copy instead, made after a build whose blocking checks passed:

``$FINOPS_DATA_DIR/published/finops.duckdb``
    every table of schema ``marts`` plus ``marts._published`` (one row: publish id,
    when it was built and published, billing periods, the DuckDB version that wrote
    it), with the build's table and column comments (the dbt descriptions, via
    persist_docs), which BI tools show. Written under a temporary name in the same folder, checkpointed, fsynced,
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

Anything that fails before the swap leaves the previous published version exactly as
it was (byte for byte); only leftover temporary files are removed.
"""

from __future__ import annotations

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
    """What one publish wrote (also recorded in ``marts._published``)."""

    publish_id: str
    path: Path
    parquet_dir: Path
    published_at: datetime
    built_at: datetime
    billing_periods: list[str]
    tables: list[str]
    duckdb_version: str
    row_counts: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict:
        return {"publish_id": self.publish_id, "path": str(self.path), "parquet_dir": str(self.parquet_dir),
                "published_at": self.published_at.isoformat(), "built_at": self.built_at.isoformat(),
                "billing_periods": ", ".join(self.billing_periods) or "none", "tables": len(self.tables),
                "duckdb_version": self.duckdb_version}


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


def publish_marts(warehouse_path: Path | str, data_dir: Path | str) -> Publication:
    """Copy schema ``marts`` of the build file to the published file and parquet folder, atomically.

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
        tables, counts, periods = _write_copy(warehouse_path, tmp_file, tmp_parquet, publish_id=publish_id,
                                              published_at=published_at, built_at=built_at)
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
    publication = Publication(publish_id=publish_id, path=published_path(data_dir), parquet_dir=out_dir / PARQUET_LINK,
                              published_at=published_at, built_at=built_at, billing_periods=periods, tables=tables,
                              duckdb_version=duckdb.__version__, row_counts=counts)
    log.info("published %d marts (%s) to %s", len(tables), ", ".join(periods), publication.path)
    return publication


def _write_copy(warehouse_path: Path, tmp_file: Path, tmp_parquet: Path, *, publish_id: str,
                published_at: datetime, built_at: datetime) -> tuple[list[str], dict[str, int], list[str]]:
    tmp_parquet.mkdir(parents=True)
    with duckdb.connect(str(tmp_file)) as con:
        con.execute("SET TimeZone = 'UTC'")
        # Attached under its own name (the file's stem, as dbt-duckdb names the database): the
        # views among the marts refer to their tables as "<that name>"."intermediate"."...".
        build = warehouse_path.stem
        con.execute(f"ATTACH {quote_literal(str(warehouse_path))} AS {_quote(build)} (READ_ONLY)")
        tables = [name for (name,) in con.execute(
            "select table_name from information_schema.tables where table_catalog = ? "
            "and table_schema = ? and table_name <> ? order by table_name", [build, SCHEMA, METADATA_TABLE]).fetchall()]
        if not tables:
            raise PublishError(f"{warehouse_path}: schema '{SCHEMA}' holds no tables; nothing was published")
        con.execute(f"CREATE SCHEMA {SCHEMA}")
        counts = {}
        for table in tables:  # views are materialised too: the copy must not depend on the build file
            con.execute(f"CREATE TABLE {SCHEMA}.{_quote(table)} AS SELECT * FROM {_quote(build)}.{SCHEMA}.{_quote(table)}")
            counts[table] = con.execute(f"select count(*) from {SCHEMA}.{_quote(table)}").fetchone()[0]
        _copy_comments(con, build, tables)
        periods = []
        if PERIOD_SOURCE in tables:
            periods = [p for (p,) in con.execute(
                f"select distinct strftime(billing_period, '%Y-%m') from {SCHEMA}.{PERIOD_SOURCE} order by 1"
            ).fetchall()]
        con.execute(f"DETACH {_quote(build)}")
        con.execute(f"""
            CREATE TABLE {SCHEMA}.{METADATA_TABLE} AS SELECT
                ?::varchar AS publish_id, ?::timestamp AS published_at, ?::timestamp AS built_at,
                ?::varchar[] AS billing_periods, ?::varchar[] AS tables, ?::varchar AS duckdb_version,
                ?::varchar AS source_file""",
            [publish_id, published_at.replace(tzinfo=None), built_at.replace(tzinfo=None), periods, tables,
             duckdb.__version__, warehouse_path.name])
        con.execute(f"COMMENT ON TABLE {SCHEMA}.{METADATA_TABLE} IS "
                    "'One row describing this publication: when the build ran and was published, the billing "
                    "periods it holds, and the DuckDB version that wrote the file (open it with the same version).'")
        for table in [*tables, METADATA_TABLE]:
            con.execute(f"COPY {SCHEMA}.{_quote(table)} TO {quote_literal(str(tmp_parquet / f'{table}.parquet'))} "
                        "(FORMAT parquet, COMPRESSION zstd)")
        con.execute("CHECKPOINT")
    return tables, counts, periods


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
            con.execute(f"COMMENT ON TABLE {SCHEMA}.{_quote(table)} IS {quote_literal(comment)}")
    for table, column, comment in columns:
        if table in published:
            con.execute(f"COMMENT ON COLUMN {SCHEMA}.{_quote(table)}.{_quote(column)} IS {quote_literal(comment)}")


def _swap_symlink(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` atomically (a new symlink renamed over the old one)."""
    tmp_link = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.tmp")
    os.symlink(target, tmp_link, target_is_directory=True)
    if link.exists() and not link.is_symlink():  # a plain folder from an older layout: move it out of the way
        shutil.rmtree(link)
    os.replace(tmp_link, link)


def _prune_parquet_versions(versions_dir: Path, keep: int, current: str) -> None:
    versions = sorted((p for p in versions_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: p.name)
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
                          "blocking checks passed.")
    def published_warehouse(context):  # dagster imported lazily: no annotations (string-typed here)
        data_dir = Path(context.resources.finops.data_dir)
        publication = publish_marts(data_dir / "warehouse.duckdb", data_dir)
        meta = publication.as_metadata()
        meta["path"] = dg.MetadataValue.path(str(publication.path))
        meta["row_counts"] = dg.MetadataValue.json(publication.row_counts)
        return dg.MaterializeResult(metadata=meta)

    return published_warehouse
