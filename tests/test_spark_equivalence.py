"""The same dbt project on DuckDB and on Spark gives the same marts.

One small generated organisation (three billing periods of 10k line items; CUR 2.0, legacy CUR
CSV and FOCUS all counted somewhere, a FOCUS export that duplicates a CUR 2.0 one, a cost spike,
business drivers in two CSV files with different headers) is landed once with the project's loader. Then `dbt build`
(seeds, every model, every data and unit test) runs against those landing files twice: on
DuckDB (target `duckdb`, the build file warehouse.duckdb) and on a local Spark (target `spark`,
dbt-spark session mode; its parquet tables under $FINOPS_DATA_DIR/spark/warehouse). Then one
payer re-delivers the last period and both engines rebuild that period alone (the incremental
path a Dagster run for one partition takes). Every table of schema `marts` must then hold the
same rows on both: same keys, text and dates equal, numbers equal to 1e-6.

Marked `spark` (needs Java 17 and a few minutes): not part of the default pytest run;
`.ci/run` runs it as its own step, by hand: `scripts/test -m spark`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from orchestration.ingestion.landing import ensure_landing_layout, load_exports
from orchestration.sample_data import write_sample_exports
from orchestration.sample_data.drivers import DRIVERS_FOLDER, write_sample_drivers

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
PERIODS = ["2026-07", "2026-08", "2026-09"]
ROWS_PER_PERIOD = 10_000
SEED = 42
# The same vars on both targets. At this size the sample's cost spike (third period) is a few
# dollars a day: a lower floor lets the anomaly mart flag it (and a few more days), so it is
# compared with rows in it. The anomaly unit test pins its own vars.
DBT_VARS = "{anomaly_min_cost: 2}"
TOLERANCE = 1e-6


JAVA_MISSING = ("The Spark equivalence test needs Java 17 or later for pyspark (`java` on PATH or JAVA_HOME): "
                "install a JRE (Debian: apt-get install openjdk-17-jre-headless; scripts/test does it when run "
                "as root with apt), or run the default suite (without -m spark).")


def _java_or_fail() -> None:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home, "bin", "java")) if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        pytest.fail(JAVA_MISSING)
    version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    major = version.split('"')[1].split(".")[0] if '"' in version else ""
    if not major.isdigit() or int(major) < 17:
        pytest.fail(f"{JAVA_MISSING}\nFound: {version.strip()}")


def _start_dbt_build(target: str, data_dir: Path, work: Path, periods: str = "") -> tuple[subprocess.Popen, Path, float]:
    """`dbt build` on `target` in the background, with its own target and log paths; for the billing
    periods `periods` ('2026-09', as Dagster passes a run's partitions) when given, else all."""
    env = {**os.environ, "FINOPS_DATA_DIR": str(data_dir), "DBT_TARGET_PATH": str(work / f"target-{target}"),
           "DBT_LOG_PATH": str(work / f"logs-{target}"), "FINOPS_DUCKDB_THREADS": "2",
           "FINOPS_DUCKDB_MEMORY_LIMIT": "2GB", "FINOPS_BILLING_PERIODS": periods}
    log = work / f"dbt-build-{target}{'-' + periods if periods else ''}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("dbt")), "build", "--profiles-dir", ".",
                                 "--target", target, "--vars", DBT_VARS], cwd=DBT_PROJECT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    return proc, log, time.monotonic()


def _wait_for_dbt_builds(builds: dict[str, tuple[subprocess.Popen, Path, float]]) -> dict[str, float]:
    """Wait for every build; fail with the errors of the first that failed. Returns seconds per target."""
    seconds, failures = {}, []
    try:
        while len(seconds) < len(builds):  # poll, so that each build's own time is measured
            for target, (proc, _, started) in builds.items():
                if target not in seconds and proc.poll() is not None:
                    seconds[target] = time.monotonic() - started
            time.sleep(0.5)
    finally:  # interrupted: do not leave a dbt (and its Spark) running
        for proc, _, _ in builds.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for target, (proc, log, _) in builds.items():
        returncode = proc.returncode
        if returncode != 0:
            lines = log.read_text(errors="replace").splitlines()
            errors = [line for line in lines if "ERROR" in line or "FAIL" in line or "Error" in line]
            failures.append(f"dbt build --target {target} failed (exit {returncode}, {seconds[target]:.0f} s); "
                            f"log {log}:\n" + "\n".join(errors[:40] + ["..."] + lines[-40:]))
    if failures:
        pytest.fail("\n\n".join(failures))
    return seconds


@pytest.fixture(scope="module")
def built_on_both(tmp_path_factory):
    _java_or_fail()
    work = tmp_path_factory.mktemp("spark-equivalence")
    exports, data_dir = work / "exports", work / "data"
    # Payer A delivers CUR 2.0 and, duplicating it, FOCUS (counted once: the overlap path); payer B
    # legacy CUR CSV. Payer A's CUR 2.0 export of the last period is then withdrawn, so in 2026-09
    # its FOCUS export counts and FOCUS tags reach the marts. The generator puts the sample's cost
    # spike in the third period, on payer A: the anomaly mart is not empty.
    write_sample_exports(exports, periods=PERIODS, rows_per_period=ROWS_PER_PERIOD, seed=SEED,
                         layout={"payer-a": ["cur2", "focus"], "payer-b": "cur_legacy_csv"})
    for folder in sorted(exports.glob(f"cur2/*/*/BILLING_PERIOD={PERIODS[-1]}")):
        shutil.rmtree(folder)
    ensure_landing_layout(data_dir / "landing")
    landed = load_exports(str(exports), data_dir / "landing", threads=2, memory_limit="2GB")
    assert {(r.format, r.billing_period) for r in landed} == {
        ("cur2", "2026-07"), ("cur2", "2026-08"), ("focus", "2026-07"), ("focus", "2026-08"),
        ("focus", "2026-09"), ("cur_legacy", "2026-07"), ("cur_legacy", "2026-08"), ("cur_legacy", "2026-09")}
    write_sample_drivers(data_dir, PERIODS, SEED, rows_per_period=ROWS_PER_PERIOD)
    # a second driver file, columns in another order and no revenue column, daily rows: the
    # sources must match columns by name on both engines
    (data_dir / DRIVERS_FOLDER / "daily-gb-served.csv").write_text(
        "metric_name,value,period\n"
        "gb_served,120.5,2026-08-03\n"
        "GB_Served ,79.5,2026-08-17\n"
        "\n"
        "gb_served,10,2026-09-01\n")

    # Both builds at once (separate processes, separate outputs): Spark spends much of its time
    # starting and planning, so DuckDB's build mostly overlaps it.
    builds = {target: _start_dbt_build(target, data_dir, work) for target in ("spark", "duckdb")}
    seconds = _wait_for_dbt_builds(builds)
    print(f"\ndbt build, run side by side: DuckDB {seconds['duckdb']:.0f} s, Spark {seconds['spark']:.0f} s")

    # The incremental path (issue 17): payer B re-delivers the last period (other line items, other
    # totals), and both engines rebuild that billing period only, as a Dagster run for its partition
    # does: DuckDB deletes and inserts it, Spark drops and overwrites its partitions.
    write_sample_exports(exports, periods=[PERIODS[-1]], rows_per_period=ROWS_PER_PERIOD // 2, seed=SEED + 1,
                         layout={"payer-b": "cur_legacy_csv"})
    relanded = load_exports(str(exports), data_dir / "landing", periods=[PERIODS[-1]], threads=2, memory_limit="2GB")
    assert {(r.format, r.status) for r in relanded} == {("cur_legacy", "loaded"), ("focus", "unchanged")}
    builds = {target: _start_dbt_build(target, data_dir, work, PERIODS[-1]) for target in ("spark", "duckdb")}
    seconds = _wait_for_dbt_builds(builds)
    print(f"dbt build of {PERIODS[-1]} alone: DuckDB {seconds['duckdb']:.0f} s, Spark {seconds['spark']:.0f} s")
    return data_dir


# --- reading and comparing ----------------------------------------------------------------------

NUMERIC_PREFIXES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")


def _read(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[list[str], list[str], list[tuple]]:
    rel = con.sql(f"select * from {relation}")
    return [c.lower() for c in rel.columns], [str(t) for t in rel.types], rel.fetchall()


def _normalise(value):
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _numbers_equal(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=TOLERANCE)


def _compare_table(name: str, duck: tuple, spark: tuple) -> list[str]:
    """Differences between the DuckDB and the Spark rows of one mart (empty when equal)."""
    (d_cols, d_types, d_rows), (s_cols, s_types, s_rows) = duck, spark
    if sorted(d_cols) != sorted(s_cols):
        return [f"{name}: columns differ: only DuckDB {sorted(set(d_cols) - set(s_cols))}, "
                f"only Spark {sorted(set(s_cols) - set(d_cols))}"]
    if len(d_rows) != len(s_rows):
        problems = [f"{name}: {len(d_rows)} rows on DuckDB, {len(s_rows)} on Spark"]
    else:
        problems = []
    s_index = [s_cols.index(c) for c in d_cols]
    s_rows = [tuple(row[i] for i in s_index) for row in s_rows]
    s_types = [s_types[i] for i in s_index]
    numeric = [dt_.upper().startswith(NUMERIC_PREFIXES) or st.upper().startswith(NUMERIC_PREFIXES)
               for dt_, st in zip(d_types, s_types)]
    key_cols = [c for c, is_num in zip(d_cols, numeric) if not is_num]

    def grouped(rows):
        groups = defaultdict(list)
        for row in rows:
            row = tuple(_normalise(v) for v in row)
            key = tuple(v for v, is_num in zip(row, numeric) if not is_num)
            groups[key].append(row)
        for rows_of_key in groups.values():  # several rows per key: pair them in numeric order
            rows_of_key.sort(key=lambda r: tuple((v is None, round(float(v), 4) if v is not None else 0)
                                                 for v, is_num in zip(r, numeric) if is_num))
        return groups

    d_groups, s_groups = grouped(d_rows), grouped(s_rows)
    for key in sorted(set(d_groups) | set(s_groups), key=repr):
        d_list, s_list = d_groups.get(key, []), s_groups.get(key, [])
        if len(d_list) != len(s_list):
            problems.append(f"{name}: key {dict(zip(key_cols, key))}: {len(d_list)} row(s) on DuckDB, "
                            f"{len(s_list)} on Spark")
            continue
        for d_row, s_row in zip(d_list, s_list):
            for column, is_num, d_val, s_val in zip(d_cols, numeric, d_row, s_row):
                equal = _numbers_equal(d_val, s_val) if is_num else d_val == s_val
                if not equal:
                    problems.append(f"{name}: key {dict(zip(key_cols, key))}: {column} = {d_val!r} on DuckDB, "
                                    f"{s_val!r} on Spark")
    return problems


def test_every_mart_is_the_same_on_duckdb_and_spark(built_on_both):
    data_dir = built_on_both
    spark_marts = data_dir / "spark" / "warehouse" / "marts.db"
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        duck_tables = sorted(r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type = 'BASE TABLE'").fetchall())
        spark_tables = sorted(p.name for p in spark_marts.iterdir() if p.is_dir())
        assert duck_tables, "no marts on DuckDB"
        assert spark_tables == duck_tables, "the two targets built different sets of marts"

        # marts that are views publish an incremental intermediate table (fct_x over int_x, partitioned
        # by billing_period on Spark): Spark's side is that table's files, in the view's columns
        duck_views = sorted(r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type = 'VIEW'").fetchall())
        assert {"fct_cost_allocated_daily", "fct_commitments_monthly"} <= set(duck_views)

        def spark_side(mart: str, columns: list[str]) -> str:
            """The Spark files of a mart, as a relation DuckDB reads in the mart's columns."""
            if mart not in duck_views:
                folder = spark_marts / mart
                if any(p.name.startswith("billing_period=") for p in folder.iterdir() if p.is_dir()):
                    # an incremental mart (e.g. fct_tag_coverage_monthly): Spark partitions its files
                    selected = ", ".join("cast(billing_period as date) as billing_period" if c == "billing_period"
                                         else c for c in columns)
                    return f"(select {selected} from read_parquet('{folder}/**/*.parquet', hive_partitioning = true))"
                return f"read_parquet('{folder}/*.parquet')"
            backing = spark_marts.parent / "intermediate.db" / ("int_" + mart.removeprefix("fct_"))
            # The view's own SQL runs on Spark only when queried, so its files cannot hold the flags of
            # macro period_status_columns: they are derived here by the same definition (the tables'
            # flags, e.g. rpt_showback_monthly's, are compared from Spark's own files).
            derived = {"billing_period": "cast(billing_period as date) as billing_period",
                       "is_closed_period": "cast(billing_period as date) < date_trunc('month', current_date) "
                                           "as is_closed_period",
                       "is_latest_period": "cast(billing_period as date) = max(cast(billing_period as date)) over () "
                                           "as is_latest_period"}
            selected = ", ".join(derived.get(c, c) for c in columns)
            return f"(select {selected} from read_parquet('{backing}/**/*.parquet', hive_partitioning = true))"

        problems, summary = [], []
        for mart in duck_tables + duck_views:
            if mart in duck_views and not (spark_marts.parent / "intermediate.db"
                                           / ("int_" + mart.removeprefix("fct_"))).exists():
                # a view over another mart (fct_finops_kpis_monthly_v1 over v2): its rows are that mart's
                summary.append(f"  {mart:<32}   view over a compared mart")
                continue
            duck = _read(con, f"marts.{mart}")
            found = _compare_table(mart, duck, _read(con, spark_side(mart, duck[0])))
            summary.append(f"  {mart:<32} {len(duck[2]):>6} rows  {'same' if not found else 'DIFFERENT'}")
            problems += found
    print("\nmarts compared (DuckDB vs Spark):\n" + "\n".join(summary))
    assert not problems, f"{len(problems)} difference(s):\n" + "\n".join(problems[:50])


def test_the_comparison_exercises_every_export_format_and_both_tag_sources(built_on_both):
    """Guard against a vacuous comparison: the marts hold cost from every format, tagged cost,
    unit costs with units from both driver files, and the FOCUS duplicate is reported, not counted."""
    data_dir = built_on_both
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        formats = dict(con.execute("""
            select source_format, count(*) from intermediate.int_line_items_counted_daily group by 1""").fetchall())
        assert set(formats) == {"cur2", "cur_legacy", "focus"}, formats
        tagged = con.execute("""
            select count(*) from marts.fct_cost_allocated_daily where allocation_method = 'tag'
            and billing_period = date '2026-09-01' and billing_account_id in (
                select billing_account_id from intermediate.int_line_items_counted_daily where source_format = 'focus')
            """).fetchone()[0]
        assert tagged > 0, "no FOCUS line item was allocated by its tags"
        overlaps = con.execute("select distinct export_name from intermediate.int_export_overlaps").fetchall()
        assert overlaps and all(name.startswith("focus/") for (name,) in overlaps)
        units = con.execute("""select units from marts.fct_unit_cost_monthly
                               where metric_name = 'gb_served' order by billing_period""").fetchall()
        assert len(units) == 3 and all(u is not None for (u,) in units)
        assert con.execute("select count(*) from marts.fct_cost_anomalies_daily").fetchone()[0] > 0
