"""Publishing the marts for BI readers: atomic, never locked, never half-built.

Readers here are what a dashboard does: a connection held open for a long time, and a
separate process that connects, queries two marts, and disconnects over and over. Every
answer must be one complete published version (publish id and both totals together),
and no query may wait for a build.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from orchestration.publish import (PARQUET_LINK, PublishError, open_published, publish_marts, published_path,
                                   read_publication)
from orchestration.settings import Settings

# Totals a reader asks for in one query; a half-published state would mix two versions.
READER_SQL = """
    select p.publish_id,
           (select round(sum(total_cost), 2)::double from marts.rpt_showback_monthly) as showback_total,
           (select round(sum(effective_cost), 2)::double from marts.fct_cost_allocated_daily) as allocated_total
    from marts._published p"""

READER_PROCESS = """
import json, sys, time, duckdb
path, stop, sql = sys.argv[1], sys.argv[2], sys.argv[3]
import os
while not os.path.exists(stop):
    started = time.monotonic()
    try:
        with duckdb.connect(path, read_only=True) as con:
            row = con.execute(sql).fetchone()
        print(json.dumps({"row": list(row), "seconds": time.monotonic() - started}), flush=True)
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "seconds": time.monotonic() - started}), flush=True)
    time.sleep(0.1)
"""


def write_build_file(path: Path, version: int, *, teams: int = 3) -> None:
    """A tiny build file with two marts whose totals agree (cost = 100 × version per team)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute(f"""create or replace table marts.rpt_showback_monthly as
            select date '2026-10-01' as billing_period, 'team-' || i as team, {100.0 * version} as total_cost
            from range({teams}) t(i)""")
        con.execute(f"""create or replace table marts.fct_cost_allocated_daily as
            select date '2026-10-01' as billing_period, date '2026-10-01' + (i % 28)::int as charge_date,
                   'team-' || (i % {teams}) as team, {100.0 * version * teams} / 280 as effective_cost
            from range(280) t(i)""")
        # qualified with the database name, as dbt-duckdb writes its views
        con.execute(f"create or replace view marts.v_team_totals as select team, sum(effective_cost) as cost "
                    f"from \"{path.stem}\".marts.fct_cost_allocated_daily group by team")


class HeldReader(threading.Thread):
    """A dashboard that keeps one read-only connection open and queries it in a loop."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.con = duckdb.connect(str(path), read_only=True)
        self.rows: list[tuple] = []
        self.errors: list[str] = []
        self.slowest = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                self.rows.append(tuple(self.con.execute(READER_SQL).fetchone()))
            except Exception as exc:  # recorded, asserted on by the test
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self.slowest = max(self.slowest, time.monotonic() - started)
            time.sleep(0.01)
        self.con.close()


class ReconnectingReader:
    """Another process that connects, queries and disconnects over and over (sees each new version)."""

    def __init__(self, path: Path, workdir: Path):
        self.stop_file = workdir / "stop-reader"
        self.proc = subprocess.Popen([sys.executable, "-c", READER_PROCESS, str(path), str(self.stop_file),
                                      READER_SQL], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_until_reading(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        self.first = self.proc.stdout.readline()  # blocks until the first answer
        assert self.first, self.proc.stderr.read()
        assert time.monotonic() < deadline

    def finish(self) -> list[dict]:
        self.stop_file.touch()
        out, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return [json.loads(line) for line in [self.first, *out.splitlines()] if line.strip()]


def published_answer(data_dir: Path) -> tuple:
    """The reader query on the file currently published (ATTACH: never a cached older instance)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{published_path(data_dir)}' as published (read_only)")
        con.execute("use published")
        return tuple(con.execute(READER_SQL).fetchone())


def test_publish_copies_every_mart_with_its_publication_record(tmp_path):
    build = tmp_path / "build" / "warehouse.duckdb"
    write_build_file(build, 1)

    publication = publish_marts(build, tmp_path / "data")

    path = published_path(tmp_path / "data")
    assert path == tmp_path / "data" / "published" / "finops.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables "
                                              "where table_schema = 'marts' and table_type = 'BASE TABLE'").fetchall()}
        row = con.execute("select publish_id, billing_periods, duckdb_version, tables from marts._published").fetchone()
        team_totals = con.execute("select sum(cost) from marts.v_team_totals").fetchone()[0]
    # every mart (the view materialised as a table, so the copy never reads the build file)
    assert tables == {"rpt_showback_monthly", "fct_cost_allocated_daily", "v_team_totals", "_published"}
    assert team_totals == pytest.approx(300.0)
    assert row[0] == publication.publish_id and row[1] == ["2026-10"] and row[2] == duckdb.__version__ == "1.5.5"
    assert sorted(row[3]) == ["fct_cost_allocated_daily", "rpt_showback_monthly", "v_team_totals"]
    # one parquet file per mart, behind a symlink to a versioned folder
    link = tmp_path / "data" / "published" / PARQUET_LINK
    assert link.is_symlink() and link.resolve().name == publication.publish_id
    assert {p.name for p in link.iterdir()} == {f"{t}.parquet" for t in tables}
    assert duckdb.sql(f"select sum(total_cost) from '{link}/rpt_showback_monthly.parquet'").fetchone()[0] == 300.0
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_readers_are_never_blocked_and_never_see_a_half_published_state(tmp_path):
    """While a 'dbt build' holds the build file for writing and rewrites one mart after the other (an
    inconsistent state in the build file), readers of the published file keep answering, and every
    answer is one whole published version."""
    data_dir, build = tmp_path / "data", tmp_path / "build" / "warehouse.duckdb"
    write_build_file(build, 1)
    publish_marts(build, data_dir)
    versions = {published_answer(data_dir)}
    held = HeldReader(published_path(data_dir))
    held.start()
    other = ReconnectingReader(published_path(data_dir), tmp_path)
    other.wait_until_reading()

    for version in (2, 3, 4):
        with duckdb.connect(str(build)) as writer:  # the build holds the only write lock on its file
            writer.execute(f"update marts.rpt_showback_monthly set total_cost = {100.0 * version}")
            time.sleep(0.3)  # showback is new, allocation still old: readers must not see this
            writer.execute(f"update marts.fct_cost_allocated_daily set effective_cost = {100.0 * version * 3} / 280")
        publish_marts(build, data_dir)
        versions.add(published_answer(data_dir))
        time.sleep(0.3)

    held.stop.set()
    held.join(timeout=10)
    seen_by_other = other.finish()

    assert len(versions) == 4 and all(showback == allocated for _, showback, allocated in versions)
    # the held connection keeps reading the version it opened (the old inode), never blocked
    assert held.errors == [] and held.rows and set(held.rows) == {min(versions, key=lambda v: v[1])}
    assert held.slowest < 2.0
    # the reconnecting reader sees each new version, whole, and never waits for the writer
    assert [r for r in seen_by_other if "error" in r] == []
    answers = {tuple(r["row"]) for r in seen_by_other}
    assert answers <= versions and len(answers) >= 2
    assert max(r["seconds"] for r in seen_by_other) < 5.0


def test_a_failed_publish_leaves_the_previous_version_byte_identical(tmp_path):
    data_dir = tmp_path / "data"
    write_build_file(tmp_path / "good" / "warehouse.duckdb", 1)
    first = publish_marts(tmp_path / "good" / "warehouse.duckdb", data_dir)
    before = published_path(data_dir).read_bytes()
    link_before = (data_dir / "published" / PARQUET_LINK).resolve()
    empty = tmp_path / "empty" / "warehouse.duckdb"
    empty.parent.mkdir()
    duckdb.connect(str(empty)).close()  # a build file without schema marts

    with pytest.raises(PublishError, match=r"warehouse\.duckdb: schema 'marts' holds no tables"):
        publish_marts(empty, data_dir)
    with pytest.raises(PublishError, match="no build file to publish"):
        publish_marts(tmp_path / "missing.duckdb", data_dir)

    assert published_path(data_dir).read_bytes() == before
    assert read_publication(data_dir)["publish_id"] == first.publish_id
    assert (data_dir / "published" / PARQUET_LINK).resolve() == link_before
    assert not [p for p in (data_dir / "published").iterdir() if p.name.startswith(".")]


def file_state(path: Path) -> tuple[int, str]:
    """A file's inode and sha256: the same pair means the very same file, untouched."""
    return path.stat().st_ino, hashlib.sha256(path.read_bytes()).hexdigest()


def parquet_state(data_dir: Path) -> tuple[Path, dict[str, tuple[int, str]]]:
    version = (data_dir / "published" / PARQUET_LINK).resolve()
    return version, {p.name: file_state(p) for p in sorted(version.iterdir())}


def mart_rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"select * from marts.{table} order by all").fetchall()


def test_publishing_again_with_nothing_changed_leaves_the_publication_as_it_is(tmp_path):
    """A second publish of an unchanged build writes nothing: same file (inode and bytes), same parquet
    folder and files, and the Dagster asset's materialization says "unchanged"."""
    import dagster as dg

    from orchestration.publish import build_publish_asset

    data_dir = tmp_path / "data"
    write_build_file(data_dir / "warehouse.duckdb", 1)
    first = publish_marts(data_dir / "warehouse.duckdb", data_dir)
    assert (first.status, first.method) == ("published", "full")
    published_before = file_state(published_path(data_dir))
    parquet_before = parquet_state(data_dir)
    listing_before = sorted(p.name for p in (data_dir / "published").rglob("*"))

    again = publish_marts(data_dir / "warehouse.duckdb", data_dir)

    assert (again.status, again.method, again.changed_tables) == ("unchanged", "none", [])
    assert again.publish_id == first.publish_id and again.published_at == first.published_at
    assert again.row_counts == first.row_counts == {"fct_cost_allocated_daily": 280, "rpt_showback_monthly": 3,
                                                    "v_team_totals": 3}
    assert file_state(published_path(data_dir)) == published_before
    assert parquet_state(data_dir) == parquet_before
    assert sorted(p.name for p in (data_dir / "published").rglob("*")) == listing_before  # no new version, no tmp

    # the same through the Dagster asset the build job runs: a real materialization, status "unchanged"
    asset = build_publish_asset([])
    result = dg.materialize([asset], resources={"finops": dg.ResourceDefinition.hardcoded_resource(
        SimpleNamespace(data_dir=str(data_dir)))})
    [materialization] = result.asset_materializations_for_node("published_warehouse")
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert metadata["status"] == "unchanged" and metadata["publish_id"] == first.publish_id
    assert metadata["method"] == "none" and metadata["changed_tables"] == "none"
    assert file_state(published_path(data_dir)) == published_before
    assert parquet_state(data_dir) == parquet_before


def test_a_change_in_one_mart_copies_that_mart_and_links_the_others(tmp_path):
    """Only the changed mart is copied anew; every other mart keeps its rows and comments, and its parquet
    file is a hard link of the previous version's (same inode). A reader of the old file keeps its version."""
    data_dir, build = tmp_path / "data", tmp_path / "build" / "warehouse.duckdb"
    write_build_file(build, 1)
    with duckdb.connect(str(build)) as con:
        con.execute("comment on table marts.fct_cost_allocated_daily is 'Cost per team and day.'")
        con.execute("comment on column marts.rpt_showback_monthly.total_cost is 'Showback, USD.'")
    first = publish_marts(build, data_dir)
    old_version, old_parquet = parquet_state(data_dir)
    with open_published(data_dir) as con:
        before = {t: mart_rows(con, t) for t in first.tables}
    held = duckdb.connect(str(published_path(data_dir)), read_only=True)  # a dashboard that stays connected
    with duckdb.connect(str(build)) as con:  # one team's showback changes, nothing else
        con.execute("update marts.rpt_showback_monthly set total_cost = 150.0 where team = 'team-1'")

    second = publish_marts(build, data_dir)

    assert (second.status, second.method, second.changed_tables) == ("published", "incremental",
                                                                     ["rpt_showback_monthly"])
    assert second.publish_id != first.publish_id and second.billing_periods == ["2026-10"]
    with open_published(data_dir) as con:
        assert mart_rows(con, "rpt_showback_monthly") == [(date(2026, 10, 1), "team-0", 100.0),
                                                          (date(2026, 10, 1), "team-1", 150.0),
                                                          (date(2026, 10, 1), "team-2", 100.0)]
        for table in ("fct_cost_allocated_daily", "v_team_totals"):
            assert mart_rows(con, table) == before[table]
        record = con.execute("select publish_id, changed_tables, tables from marts._published").fetchone()
        comments = con.execute("select table_name, column_name, comment from duckdb_columns() "
                               "where schema_name = 'marts' and comment is not null").fetchall()
        table_comment = con.execute("select comment from duckdb_tables() "
                                    "where table_name = 'fct_cost_allocated_daily'").fetchone()[0]
    assert record == (second.publish_id, ["rpt_showback_monthly"],
                      ["fct_cost_allocated_daily", "rpt_showback_monthly", "v_team_totals"])
    assert comments == [("rpt_showback_monthly", "total_cost", "Showback, USD.")]
    assert table_comment == "Cost per team and day."
    # parquet: a new version folder; the unchanged marts are the previous files (hard links), not copies
    new_version, new_parquet = parquet_state(data_dir)
    assert new_version.name == second.publish_id != old_version.name and old_version.is_dir()
    for name in ("fct_cost_allocated_daily.parquet", "v_team_totals.parquet"):
        assert new_parquet[name] == old_parquet[name]
        assert (new_version / name).stat().st_nlink == 2
    assert new_parquet["rpt_showback_monthly.parquet"][0] != old_parquet["rpt_showback_monthly.parquet"][0]
    assert duckdb.sql(f"select sum(total_cost) from '{new_version}/rpt_showback_monthly.parquet'"
                      ).fetchone()[0] == 350.0
    assert duckdb.sql(f"select sum(total_cost) from '{old_version}/rpt_showback_monthly.parquet'"
                      ).fetchone()[0] == 300.0
    # the connection opened before the swap still reads the first publication, whole
    assert held.execute("select publish_id from marts._published").fetchone()[0] == first.publish_id
    assert held.execute("select sum(total_cost) from marts.rpt_showback_monthly").fetchone()[0] == 300.0
    held.close()
    assert not [p for p in (data_dir / "published").iterdir() if p.name.startswith(".")]


def test_floating_point_noise_is_no_change_but_a_thousandth_of_a_cent_is(tmp_path):
    """Two builds of the same deliveries can differ in the last bit of a parallel DOUBLE sum: not a change.
    A real difference, however small in money, is."""
    data_dir, build = tmp_path / "data", tmp_path / "build" / "warehouse.duckdb"
    write_build_file(build, 1)
    first = publish_marts(build, data_dir)
    with duckdb.connect(str(build)) as con:  # the next representable double above each cost
        assert con.execute("select typeof(effective_cost) from marts.fct_cost_allocated_daily limit 1"
                           ).fetchone()[0] == "DOUBLE"
        con.execute("update marts.fct_cost_allocated_daily set effective_cost = nextafter(effective_cost, 1e9)")

    assert publish_marts(build, data_dir).status == "unchanged"

    with duckdb.connect(str(build)) as con:
        con.execute("update marts.fct_cost_allocated_daily set effective_cost = effective_cost + 0.00001 "
                    "where charge_date = date '2026-10-01' and team = 'team-0'")
    second = publish_marts(build, data_dir)

    assert (second.status, second.changed_tables) == ("published", ["fct_cost_allocated_daily", "v_team_totals"])
    assert second.publish_id != first.publish_id
    with open_published(data_dir) as con:
        total = con.execute("select sum(effective_cost) from marts.fct_cost_allocated_daily").fetchone()[0]
    assert total == pytest.approx(300.0 + 4 * 0.00001, abs=1e-9)  # 4 rows of team-0 on Oct 1st


def test_pruning_an_old_version_keeps_the_files_the_newer_ones_link(tmp_path):
    data_dir, build = tmp_path / "data", tmp_path / "build" / "warehouse.duckdb"
    write_build_file(build, 1)
    versions = [publish_marts(build, data_dir).publish_id]
    for cost in (110.0, 120.0, 130.0):  # only showback changes; the allocation mart is linked each time
        with duckdb.connect(str(build)) as con:
            con.execute(f"update marts.rpt_showback_monthly set total_cost = {cost}")
        versions.append(publish_marts(build, data_dir).publish_id)

    kept = {p.name for p in (data_dir / "published" / "parquet-versions").iterdir()}
    assert kept == set(versions[1:])  # KEEP_PARQUET_VERSIONS = 3: the first folder is gone
    current = data_dir / "published" / PARQUET_LINK / "fct_cost_allocated_daily.parquet"
    assert current.stat().st_nlink == 3  # the file the first version wrote, still linked by the three kept
    assert duckdb.sql(f"select round(sum(effective_cost), 6) from '{current}'").fetchone()[0] == 300.0
    assert duckdb.sql(f"select sum(total_cost) from '{current.parent}/rpt_showback_monthly.parquet'"
                      ).fetchone()[0] == 390.0


def test_a_mart_gone_from_the_build_is_gone_from_the_publication(tmp_path):
    data_dir, build = tmp_path / "data", tmp_path / "build" / "warehouse.duckdb"
    write_build_file(build, 1)
    publish_marts(build, data_dir)
    with duckdb.connect(str(build)) as con:
        con.execute("drop view marts.v_team_totals")

    publication = publish_marts(build, data_dir)

    assert (publication.status, publication.method, publication.changed_tables) == ("published", "incremental", [])
    with open_published(data_dir) as con:
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts' "
                                            "order by 1").fetchall()]
    assert tables == ["_published", "fct_cost_allocated_daily", "rpt_showback_monthly"]
    assert sorted(p.name for p in (data_dir / "published" / PARQUET_LINK).iterdir()) == [
        "_published.parquet", "fct_cost_allocated_daily.parquet", "rpt_showback_monthly.parquet"]


def test_a_file_left_mostly_free_by_a_dropped_mart_is_rewritten_compact(tmp_path):
    """Copying the current file carries its free blocks along: once they are more than half of it, the
    next publication writes every mart into a new file instead."""
    data_dir, build = tmp_path / "data", tmp_path / "build" / "warehouse.duckdb"
    write_build_file(build, 1)
    with duckdb.connect(str(build)) as con:
        con.execute("create table marts.big as select i, random() as r from range(2000000) t(i)")
    publish_marts(build, data_dir)
    with duckdb.connect(str(build)) as con:
        con.execute("drop table marts.big")
    dropped = publish_marts(build, data_dir)
    with duckdb.connect() as con:
        con.execute(f"attach '{published_path(data_dir)}' as published (read_only)")
        free, total = con.execute("select free_blocks, total_blocks from pragma_database_size() "
                                  "where database_name = 'published'").fetchone()
    size_with_free_blocks = published_path(data_dir).stat().st_size
    with duckdb.connect(str(build)) as con:
        con.execute("update marts.rpt_showback_monthly set total_cost = 110.0")

    compacted = publish_marts(build, data_dir)

    assert (dropped.method, dropped.changed_tables) == ("incremental", []) and free * 2 > total
    assert (compacted.method, compacted.changed_tables) == ("full", ["rpt_showback_monthly"])
    assert published_path(data_dir).stat().st_size < size_with_free_blocks / 4
    assert published_answer(data_dir) == (compacted.publish_id, 330.0, 300.0)


def test_a_publication_without_fingerprints_is_replaced_in_full(tmp_path):
    """A file published before fingerprints were recorded (or by another DuckDB version) is not compared
    with: the next publish writes every mart, and the one after that finds nothing changed."""
    data_dir, build = tmp_path / "data", tmp_path / "build" / "warehouse.duckdb"
    write_build_file(build, 1)
    first = publish_marts(build, data_dir)
    with duckdb.connect(str(published_path(data_dir))) as con:  # the layout of earlier releases
        con.execute("alter table marts._published drop column fingerprints")
        con.execute("alter table marts._published drop column changed_tables")

    second = publish_marts(build, data_dir)
    third = publish_marts(build, data_dir)

    assert (second.status, second.method, second.publish_id != first.publish_id) == ("published", "full", True)
    assert second.changed_tables == ["fct_cost_allocated_daily", "rpt_showback_monthly", "v_team_totals"]
    assert (third.status, third.publish_id) == ("unchanged", second.publish_id)
    assert published_answer(data_dir) == (second.publish_id, 300.0, 300.0)


# --- the real pipeline: one `finops build` of a small demo organisation, shared with test_report ------

DEMO_PERIODS = ["2026-08", "2026-09", "2026-10"]


@pytest.fixture(scope="session")
def real_build(request, tmp_path_factory):
    """A generated organisation built by `finops build` (Dagster, dbt, checks, publish, review pack) while
    a reader holds the previously published file open and another process reconnects in a loop."""
    # test_report imports this fixture (pytest sees two fixtures): build once per session
    cached = getattr(request.config, "_finops_real_build", None)
    if cached is not None:
        return cached
    from orchestration.cli import run_build
    from orchestration.sample_data import write_sample_exports
    from orchestration.sample_data.drivers import write_sample_drivers

    tmp_path = tmp_path_factory.mktemp("demo-org")
    settings = dataclasses.replace(Settings.from_env(), data_dir=tmp_path / "data",
                                   export_uri=str(tmp_path / "exports"), duckdb_threads=2,
                                   duckdb_memory_limit="2GB")
    write_sample_exports(tmp_path / "exports", periods=DEMO_PERIODS, rows_per_period=3000, seed=11)
    write_sample_drivers(settings.data_dir, DEMO_PERIODS, 11, rows_per_period=3000)
    from orchestration.sample_data.usage_drivers import write_sample_usage_drivers  # as `finops demo` does
    write_sample_usage_drivers(settings.data_dir, DEMO_PERIODS, 11)
    write_build_file(tmp_path / "previous" / "warehouse.duckdb", 1)
    previous = publish_marts(tmp_path / "previous" / "warehouse.duckdb", settings.data_dir)
    previous_answer = published_answer(settings.data_dir)
    held = HeldReader(published_path(settings.data_dir))
    held.start()
    other = ReconnectingReader(published_path(settings.data_dir), tmp_path)
    other.wait_until_reading()
    try:
        run_build(settings)
    finally:
        held.stop.set()
        held.join(timeout=10)
        seen_by_other = other.finish()
    request.config._finops_real_build = dict(
        settings=settings, previous=previous, previous_answer=previous_answer,
        answer=published_answer(settings.data_dir), held=held, seen_by_other=seen_by_other)
    return request.config._finops_real_build


@pytest.mark.slow
def test_finops_build_publishes_at_the_end_without_blocking_readers(real_build):
    data_dir = real_build["settings"].data_dir
    publication = read_publication(data_dir)
    assert publication["publish_id"] != real_build["previous"].publish_id
    assert publication["billing_periods"] == DEMO_PERIODS and publication["duckdb_version"] == "1.5.5"
    for mart in ("rpt_showback_monthly", "fct_chargeback_ledger", "fct_unit_cost_monthly", "fct_commitments_monthly",
                 "fct_budget_forecast_monthly", "fct_cost_anomalies_daily", "fct_finops_kpis_monthly",
                 "rpt_maturity_scorecard", "dim_teams", "dim_accounts", "fct_cost_allocated_daily"):
        assert mart in publication["tables"], f"{mart} was not published"
    _, showback, allocated = real_build["answer"]
    assert showback == pytest.approx(allocated, abs=0.05)  # money conserved across the two marts
    held, seen = real_build["held"], real_build["seen_by_other"]
    assert held.errors == [] and set(held.rows) == {real_build["previous_answer"]}
    assert [r for r in seen if "error" in r] == []
    assert {tuple(r["row"]) for r in seen} <= {real_build["previous_answer"], real_build["answer"]}


@pytest.mark.slow
def test_a_failing_build_keeps_the_previous_publication(real_build, tmp_path):
    """`finops build` over a corrupt export fails, and BI readers keep the last good version (and its pack)."""
    from orchestration.cli import BuildFailed, run_build
    from orchestration.sample_data import write_sample_exports

    settings = dataclasses.replace(real_build["settings"], export_uri=str(tmp_path / "exports"))
    published_before = published_path(settings.data_dir).read_bytes()
    publication_before = read_publication(settings.data_dir)
    pack = settings.data_dir / "reports" / "finops-review-2026-10.html"
    pack_before = pack.read_bytes()
    write_sample_exports(tmp_path / "exports", periods=["2026-10"], rows_per_period=500, seed=3,
                         layout={"payer-a": "cur2"})
    broken = sorted((tmp_path / "exports").rglob("*.parquet"))[0]
    broken.write_bytes(broken.read_bytes()[:200])  # a truncated data file: the landing step fails

    with pytest.raises(BuildFailed, match=broken.name):
        run_build(settings)

    assert published_path(settings.data_dir).read_bytes() == published_before
    assert read_publication(settings.data_dir)["published_at"] == publication_before["published_at"]
    assert pack.read_bytes() == pack_before
