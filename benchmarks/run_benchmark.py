"""Benchmark the warehouse on generated line items: time, rows/s and peak memory per stage.

    .venv/bin/python benchmarks/run_benchmark.py                      # 1M and 10M, one month; 12 x 1M incremental
    .venv/bin/python benchmarks/run_benchmark.py --rows 50000000 --memory-limit 2GB --incremental-rows 0

For each size in --rows it generates one month with the project's generator
(payer A as CUR 2.0 parquet, payer B as legacy CUR CSV.gz: the demo's layout)
and times, each in its own process so peak memory is per stage:

  load     discover + validate + conform + land (orchestration.ingestion)
  build    ONE `dbt build` of every model and data check, as production runs it
           (unit tests excluded: they test SQL logic on fixtures, in CI); its
           per-layer busy time (staging / intermediate / marts / checks) comes
           from dbt's run_results.json

next to two references on the same landing files: DuckDB's raw scan (sum of
cost: the physical limit of this machine) and a straightforward pandas
showback (what a user would write instead; skipped above 20M rows, where it
would need more memory than the machine has). The run stops if the pandas
totals are not the warehouse's rpt_showback_monthly totals: a comparison of
two different bills would mean nothing. Each size starts from a clean folder.

--incremental-rows N loads twelve months of N line items each, builds them,
then simulates the daily refresh: a new delivery of the current and the
previous month is generated and landed, and `dbt build` runs again. Its time
is compared with the build of a single month of N line items.

This is a script, not a test: the figures go into docs/benchmarks.md with the
machine they came from.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"
PYTHON = sys.executable
DBT = str(Path(sys.executable).with_name("dbt"))


def run_stage(command: list[str], env: dict, cwd: Path = ROOT, output: list[str] | None = None
              ) -> tuple[float, float]:
    """Run one stage in a child process; return (seconds, peak RSS in MB). Its output lines go to `output`."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    printed = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(printed.decode(errors="replace")[-4000:])
        raise SystemExit(f"stage failed: {' '.join(command)}")
    if output is not None:
        output.extend(printed.decode(errors="replace").splitlines())
    return elapsed, usage.ru_maxrss / 1024


PERIODS_12 = [f"{year}-{month:02d}" for year, month in
              [(2025, 11), (2025, 12)] + [(2026, m) for m in range(1, 11)]]
PANDAS_MAX_ROWS = 20_000_000
LAYERS = ("staging", "intermediate", "marts", "checks")


def stage_env(data_dir: Path, threads: int, memory_limit: str) -> dict:
    return {**os.environ, "FINOPS_DATA_DIR": str(data_dir), "FINOPS_EXPORT_URI": str(data_dir / "sample-exports"),
            "FINOPS_DUCKDB_THREADS": str(threads), "FINOPS_DUCKDB_MEMORY_LIMIT": memory_limit,
            "DBT_TARGET_PATH": str(data_dir / "dbt-target")}


def generate(env: dict, periods: list[str], rows: int, seed: int = 42) -> None:
    """Generate exports, unless this very set is already there (--keep-exports from an earlier run)."""
    out = Path(env["FINOPS_EXPORT_URI"])
    marker = out / f".generated-{seed}-{rows}-{'_'.join(periods)}"
    if marker.exists():
        print(f"   reusing the exports in {out}", flush=True)
        return
    seconds, _ = run_stage([PYTHON, "-m", "orchestration.sample_data", "--out", str(out),
                            "--periods", *periods, "--rows", str(rows), "--seed", str(seed)], env)
    marker.touch()
    print(f"   generated {len(periods)} month(s) x {rows:,} line items in {seconds:.0f}s", flush=True)


def clean(data_dir: Path, keep_exports: bool) -> None:
    """Remove what a run wrote; with keep_exports the generated exports stay for the next run.

    Called before a run too: an interrupted run leaves its landing and warehouse behind, and
    measuring on top of them would time a load that has nothing to do and a build over stale state.
    """
    if not data_dir.exists():
        return
    for child in data_dir.iterdir():
        if not (keep_exports and child.name == "sample-exports"):
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def load(env: dict, periods: list[str] | None = None) -> tuple[float, float]:
    return run_stage([PYTHON, "-c", (
        "import os, sys; from pathlib import Path; from orchestration.ingestion.landing import load_exports; "
        "load_exports(os.environ['FINOPS_EXPORT_URI'], Path(os.environ['FINOPS_DATA_DIR']) / 'landing', "
        "periods=sys.argv[1:] or None, threads=int(os.environ['FINOPS_DUCKDB_THREADS']), "
        "memory_limit=os.environ['FINOPS_DUCKDB_MEMORY_LIMIT'])"
    ), *(periods or [])], env)


def slowest_nodes(env: dict, count: int = 8) -> list[tuple[str, float]]:
    """The nodes of the last dbt invocation that took longest: (name, seconds)."""
    results = json.loads((Path(env["DBT_TARGET_PATH"]) / "run_results.json").read_text())["results"]
    ranked = sorted(results, key=lambda r: -r["execution_time"])[:count]
    return [(r["unique_id"].split(".")[2][:60], r["execution_time"]) for r in ranked]


def dbt_build(env: dict) -> tuple[float, float, dict]:
    """One `dbt build` (models + data tests); (seconds, peak MB, busy seconds per layer)."""
    seconds, peak = run_stage([DBT, "--quiet", "--no-use-colors", "build", "--exclude-resource-type", "unit_test",
                               "--profiles-dir", ".", "--project-dir", "."], env, DBT_DIR)
    target = Path(env["DBT_TARGET_PATH"])
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    busy = dict.fromkeys(LAYERS, 0.0)
    for result in json.loads((target / "run_results.json").read_text())["results"]:
        node = nodes.get(result["unique_id"], {})
        if node.get("resource_type") == "test":
            busy["checks"] += result["execution_time"]
        elif node.get("resource_type") == "model":
            layer = Path(node["original_file_path"]).parts[1]
            busy[layer] = busy.get(layer, 0.0) + result["execution_time"]
    return seconds, peak, busy


def showback_path_seconds(env: dict) -> float:
    """Busy time of the models rpt_showback_monthly is built from (itself included)."""
    target = Path(env["DBT_TARGET_PATH"])
    manifest = json.loads((target / "manifest.json").read_text())
    pending, path = ["model.finops.rpt_showback_monthly"], set()
    while pending:
        unique_id = pending.pop()
        if unique_id in path or not unique_id.startswith("model."):
            continue
        path.add(unique_id)
        pending.extend(manifest["nodes"][unique_id]["depends_on"]["nodes"])
    results = json.loads((target / "run_results.json").read_text())["results"]
    return sum(r["execution_time"] for r in results if r["unique_id"] in path)


def raw_scan(data_dir: Path, threads: int) -> tuple[int, float]:
    import duckdb

    landing_glob = str(data_dir / "landing" / "*" / "**" / "*.parquet")
    con = duckdb.connect(config={"threads": threads})
    started = time.perf_counter()
    line_items, _ = con.execute(
        f"select count(*), sum(coalesce(line_item_unblended_cost, 0)) from read_parquet('{landing_glob}', "
        "union_by_name = true)").fetchone()
    return line_items, time.perf_counter() - started


def showback_totals(data_dir: Path) -> tuple[float, float]:
    """The warehouse's rpt_showback_monthly over all periods: (billed_cost, total_cost)."""
    import duckdb

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select sum(billed_cost), sum(total_cost) from marts.rpt_showback_monthly").fetchone()


def pandas_reference(env: dict, data_dir: Path, warehouse_totals: tuple[float, float]) -> tuple[float, float]:
    """Time benchmarks/pandas_showback.py; stop if its totals are not the warehouse's (not the same bill)."""
    printed: list[str] = []
    timing = run_stage([PYTHON, str(Path(__file__).with_name("pandas_showback.py")), str(data_dir / "landing")],
                       env, output=printed)
    fields = dict(field.split("=") for field in printed[-1].removeprefix("totals: ").split())
    pandas_totals = (float(fields["billed_cost"]), float(fields["total_cost"]))
    for name, pandas_value, warehouse_value in zip(("billed_cost", "total_cost"), pandas_totals, warehouse_totals):
        if abs(pandas_value - warehouse_value) > 0.005:
            raise SystemExit(f"the pandas reference and the warehouse disagree on {name}: "
                             f"{pandas_value:,.2f} vs {warehouse_value:,.2f} (rpt_showback_monthly): "
                             "they are not computing the same showback, the comparison would mean nothing")
    return timing


def bench_month(rows: int, workdir: Path, threads: int, memory_limit: str, keep_exports: bool) -> dict:
    data_dir = workdir / f"rows-{rows}"
    env = stage_env(data_dir, threads, memory_limit)
    print(f"\n== one month, {rows:,} line items", flush=True)
    clean(data_dir, keep_exports=True)
    generate(env, ["2026-10"], rows)
    result = {"kind": "month", "requested_rows": rows, "memory_limit": memory_limit, "threads": threads}
    result["load"] = load(env)
    seconds, peak, busy = dbt_build(env)
    result["build"] = (seconds, peak)
    result["busy"] = busy
    result["slowest"] = slowest_nodes(env)
    result["showback_path_s"] = showback_path_seconds(env)
    result["rows"], result["raw_scan_s"] = raw_scan(data_dir, threads)
    result["showback_totals"] = showback_totals(data_dir)
    if rows <= PANDAS_MAX_ROWS:
        result["pandas"] = pandas_reference(env, data_dir, result["showback_totals"])
    print(f"   load {result['load'][0]:.1f}s, build {seconds:.1f}s", flush=True)
    clean(data_dir, keep_exports)
    return result


def bench_incremental(rows_per_month: int, workdir: Path, threads: int, memory_limit: str) -> dict:
    data_dir = workdir / f"incremental-{rows_per_month}"
    env = stage_env(data_dir, threads, memory_limit)
    print(f"\n== twelve months x {rows_per_month:,} line items, then a daily refresh", flush=True)
    clean(data_dir, keep_exports=False)
    generate(env, PERIODS_12, rows_per_month)
    result = {"kind": "incremental", "rows_per_month": rows_per_month, "months": len(PERIODS_12)}
    result["load"] = load(env)
    seconds, peak, busy = dbt_build(env)
    result["full_build"] = (seconds, peak)
    result["rows"], result["raw_scan_s"] = raw_scan(data_dir, threads)
    # the daily refresh: a new delivery (another execution) of the current and the previous month
    refreshed = PERIODS_12[-2:]
    generate(env, refreshed, rows_per_month, seed=43)
    result["refresh_load"] = load(env, refreshed)
    seconds, peak, busy = dbt_build(env)
    result["refresh_build"] = (seconds, peak)
    result["refresh_busy"] = busy
    result["refresh_slowest"] = slowest_nodes(env)
    result["refresh_showback_totals"] = showback_totals(data_dir)
    print(f"   full build {result['full_build'][0]:.1f}s, refresh build {seconds:.1f}s", flush=True)
    clean(data_dir, keep_exports=False)  # its exports were re-delivered: never reuse them
    return result


def print_report(results: list[dict], threads: int, memory_limit: str) -> None:
    print(f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"DuckDB threads={threads}, memory_limit={memory_limit}")
    header = f"{'line items':>12} {'stage':<34} {'seconds':>9} {'rows/s':>12} {'peak MB':>9}"
    print(header)
    print("-" * len(header))
    months = {r["requested_rows"]: r for r in results if r["kind"] == "month"}
    for result in results:
        rows = result["rows"]

        def line(stage: str, seconds: float, peak: float | None = None, note: str = "") -> None:
            peak_text = f"{peak:>9,.0f}" if peak is not None else " " * 9
            print(f"{rows:>12,} {stage:<34} {seconds:>9.2f} {rows / seconds:>12,.0f} {peak_text} {note}")

        if result["kind"] == "month":
            line("load", *result["load"])
            line("build (dbt build, all marts+checks)", *result["build"])
            for layer in LAYERS:
                line(f"  busy: {layer}", result["busy"][layer])
            for name, node_seconds in result["slowest"][:4]:
                line(f"  slowest: {name}", node_seconds)
            total = result["load"][0] + result["build"][0]
            line("load + build", total, max(result["load"][1], result["build"][1]))
            line("ref: DuckDB raw scan sum(cost)", result["raw_scan_s"], None,
                 f"build / raw scan = {result['build'][0] / result['raw_scan_s']:,.0f}x")
            if "pandas" in result:
                pandas_s, pandas_mb = result["pandas"]
                line("ref: pandas showback", pandas_s, pandas_mb,
                     f"pandas / build = {pandas_s / result['build'][0]:.2f}x; pandas / showback path "
                     f"({result['showback_path_s']:.1f}s) = {pandas_s / result['showback_path_s']:.1f}x")
        else:
            line(f"12 months: load", *result["load"])
            line(f"12 months: full build", *result["full_build"])
            line(f"refresh: load 2 months", *result["refresh_load"])
            single = months.get(result["rows_per_month"])
            note = ""
            if single:
                note = (f"refresh / one-month build ({single['build'][0]:.1f}s) = "
                        f"{result['refresh_build'][0] / single['build'][0]:.2f}x")
            line(f"refresh: build", *result["refresh_build"], note)
            for layer in LAYERS:
                line(f"  busy: {layer}", result["refresh_busy"][layer])
            for name, node_seconds in result["refresh_slowest"]:
                line(f"  slowest: {name}", node_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000],
                        help="line items of the one-month runs")
    parser.add_argument("--incremental-rows", type=int, default=1_000_000,
                        help="line items per month of the twelve-month refresh run (0: skip)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--keep-exports", action="store_true",
                        help="keep the one-month runs' exports in --workdir for the next run (skips generating)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="finops-bench-"))
    os.chdir(ROOT)
    sizes = sorted(set(args.rows) | ({args.incremental_rows} if args.incremental_rows else set()))
    results = [bench_month(rows, workdir, args.threads, args.memory_limit, args.keep_exports) for rows in sizes]
    if args.incremental_rows:
        results.append(bench_incremental(args.incremental_rows, workdir, args.threads, args.memory_limit))
    print_report(results, args.threads, args.memory_limit)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
