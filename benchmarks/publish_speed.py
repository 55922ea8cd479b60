"""Publishing the marts: a full rewrite against copying only what changed, side by side in one run.

    .venv/bin/finops demo                                           # a build file: data/warehouse.duckdb
    .venv/bin/python benchmarks/publish_speed.py data/warehouse.duckdb
    .venv/bin/python benchmarks/publish_speed.py data/warehouse.duckdb --scale 20   # marts x 20 rows

It works on a copy of the build file's marts in a scratch folder, as plain tables (views
materialised, so any mart's rows can be changed; ``--scale N`` repeats every row N times: a
bigger organisation without a bigger build), and times (the fastest of ``--rounds`` runs for
the variants below; the machine may be shared), each from the same starting point:

  first         the first publication (nothing to reuse: every mart written)
  fingerprint   the change detection alone: count + sum of row hashes of every mart
  same again    publishing the same build again (nothing written: "unchanged")

then, from that publication, for one row changed in a small mart (rpt_showback_monthly),
in the largest mart, and in every mart:

  full                  every mart rewritten (``publish_marts(full=True)``, the previous behaviour)
  incremental           the default: a byte copy of the current file with the changed marts
                        replaced, the unchanged marts' parquet files hard-linked
  ctas-previous         the alternative to the byte copy: a new file, the unchanged marts
                        copied table by table (CREATE TABLE AS) from the attached current
                        publication (DuckDB file only, no parquet)

and the published file's size over ``--repeat`` publications in a row (the free blocks a
replaced mart leaves are reused). A script, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas  # noqa: F401  DuckDB's Python client loads it on first use: already loaded in a Dagster run

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestration import publish  # noqa: E402
from orchestration.ingestion.conform import quote_literal  # noqa: E402


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def scaled_build(source: Path, target: Path, scale: int) -> None:
    """``target``: schema marts of ``source`` as tables, each row repeated ``scale`` times, with its comments."""
    with duckdb.connect(str(target)) as con:
        # as "warehouse": the name dbt-duckdb gave the build database, which its views' SQL names
        con.execute(f"ATTACH {quote_literal(str(source))} AS warehouse (READ_ONLY)")
        con.execute("CREATE SCHEMA marts")
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_catalog = 'warehouse' "
            "and table_schema = 'marts' order by 1").fetchall()]
        for table in tables:
            con.execute(f'CREATE TABLE marts."{table}" AS SELECT t.* FROM warehouse.marts."{table}" t, range({scale})')
        for table, column, comment in con.execute(
                "select table_name, column_name, comment from duckdb_columns() where database_name = 'warehouse' "
                "and schema_name = 'marts' and comment is not null").fetchall():
            con.execute(f'COMMENT ON COLUMN marts."{table}"."{column}" IS {quote_literal(comment)}')
        con.execute("DETACH warehouse")


def change_one_row(build: Path, mart: str) -> None:
    """Add 1 to the first numeric column of one row of ``mart`` (a re-delivered line item, say)."""
    with duckdb.connect(str(build)) as con:
        column, numeric = con.execute(
            "select column_name, data_type <> 'VARCHAR' from duckdb_columns() where schema_name = 'marts' "
            "and table_name = ? and (data_type in ('DOUBLE', 'BIGINT', 'INTEGER', 'VARCHAR') "
            "or data_type like 'DECIMAL%') order by data_type = 'VARCHAR', column_index limit 1", [mart]).fetchone()
        change = f'"{column}" + 1' if numeric else f"\"{column}\" || '*'"
        con.execute(f'UPDATE marts."{mart}" SET "{column}" = {change} '
                    f'WHERE rowid = (SELECT min(rowid) FROM marts."{mart}")')


def ctas_from_previous(build: Path, data_dir: Path, changed: list[str]) -> float:
    """The alternative to the byte copy: a new file, every mart written by CREATE TABLE AS."""
    current = publish.published_path(data_dir)
    target = data_dir / "ctas-previous.duckdb"
    started = time.perf_counter()
    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH {quote_literal(str(current))} AS previous (READ_ONLY)")
        con.execute(f"ATTACH {quote_literal(str(build))} AS {build.stem} (READ_ONLY)")
        con.execute("CREATE SCHEMA marts")
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables() where database_name = 'previous' "
                                            "and schema_name = 'marts' order by 1").fetchall()]
        for table in tables:
            source = f"{build.stem}.marts" if table in changed else "previous.marts"
            con.execute(f'CREATE TABLE marts."{table}" AS SELECT * FROM {source}."{table}"')
        con.execute("CHECKPOINT")
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def publish_with(build: Path, base: Path, copy: Path, rounds: int, *, full: bool):
    """The fastest of ``rounds`` publishes of ``build``, each over a fresh copy of the data dir ``base``.
    The machine may be shared: the minimum is the least disturbed run."""
    best = None
    for _ in range(rounds):
        shutil.copytree(base, copy, symlinks=True)
        seconds, done = timed(lambda: publish.publish_marts(build, copy, full=full))
        shutil.rmtree(copy)
        best = min(best or (seconds, done), (seconds, done), key=lambda r: r[0])
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", type=Path, help="a build file (data/warehouse.duckdb after `finops demo`)")
    parser.add_argument("--scale", type=int, default=1, help="repeat every mart's rows N times (default 1)")
    parser.add_argument("--repeat", type=int, default=5, help="incremental publications in a row for the size check")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each variant; the fastest is shown")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a temporary one, removed)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="publish-speed-", dir=args.workdir))
    try:
        pristine, build = scratch / "pristine.duckdb", scratch / "build.duckdb"
        scaled_build(args.warehouse, pristine, args.scale)
        shutil.copyfile(pristine, build)
        with duckdb.connect(str(build), read_only=True) as con:
            sizes = dict(con.execute("select table_name, estimated_size from duckdb_tables() "
                                     "where schema_name = 'marts'").fetchall())
        marts = sorted(sizes)
        largest, small = max(sizes, key=sizes.get), "rpt_showback_monthly"
        print(f"build file {args.warehouse} (x{args.scale}): {len(marts)} marts, "
              f"{build.stat().st_size / 1e6:.1f} MB")

        figures = []
        data = scratch / "data"
        seconds, first = timed(lambda: publish.publish_marts(build, data))
        figures.append(("first publication", seconds, f"{first.method}; "
                        f"{publish.published_path(data).stat().st_size / 1e6:.1f} MB"))
        with duckdb.connect() as con:  # after the first publication: the build file is in the page cache for both
            con.execute(f"ATTACH {quote_literal(str(build))} AS build (READ_ONLY)")
            seconds, prints = timed(lambda: publish._fingerprints(con, "build", marts))
        figures.append(("  fingerprint every mart (part of each publish)", seconds,
                        f"{sum(f.rows for f in prints.values()):,} rows"))
        seconds, again = timed(lambda: publish.publish_marts(build, data))
        assert again.status == "unchanged", again
        figures.append(("same build again", seconds, again.status))

        scenarios = [(f"one row of {small} changed", [small]), (f"one row of {largest} changed", [largest]),
                     ("one row of every mart changed", marts)]
        for label, changed in scenarios:
            shutil.copyfile(pristine, build)
            for table in changed:
                change_one_row(build, table)
            runs = {}
            for name in ("full", "incremental"):
                copy = scratch / "data-run"
                seconds, done = publish_with(build, data, copy, args.rounds, full=name == "full")
                assert done.changed_tables == (marts if name == "full" else changed), done
                runs[name] = seconds
                figures.append((f"{label}: {name}", seconds, f"method {done.method}"))
            copy = scratch / "data-ctas"
            shutil.copytree(data, copy, symlinks=True)
            figures.append((f"{label}: ctas-previous (DuckDB file only)",
                            min(ctas_from_previous(build, copy, changed) for _ in range(args.rounds)),
                            "every mart written"))
            shutil.rmtree(copy)
            figures.append((f"{label}: incremental / full", runs["incremental"] / runs["full"], "ratio"))

        # the file does not grow: the blocks a replaced mart leaves are reused by the next one
        shutil.copyfile(pristine, build)
        sizes_mb = [publish.published_path(data).stat().st_size / 1e6]
        methods = []
        for _ in range(args.repeat):
            change_one_row(build, small)
            methods.append(publish.publish_marts(build, data).method)
            sizes_mb.append(publish.published_path(data).stat().st_size / 1e6)

        width = max(len(f[0]) for f in figures)
        print(f"\n{'step'.ljust(width)}  seconds  note")
        for step, seconds, note in figures:
            print(f"{step.ljust(width)}  {seconds:7.2f}  {note}")
        print(f"\npublished file size (MB) over {args.repeat} publications in a row, one row of {small} changed "
              f"each time ({', '.join(sorted(set(methods)))}): " + " -> ".join(f"{s:.1f}" for s in sizes_mb))
        print(f"machine: {os.cpu_count()} cores, DuckDB {duckdb.__version__}")
    finally:
        if args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
