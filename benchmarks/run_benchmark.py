"""Benchmark the pipeline on generated line items: per-stage time, rows/s and peak memory.

    .venv/bin/python benchmarks/run_benchmark.py --rows 1000000 10000000

For each size it generates one month of exports with the project's generator
(CUR 2.0 for one payer, legacy CUR CSV for the other — the demo's layout), then
times, each in its own process so peak memory is measured per stage:

  load          discover + conform + land (orchestration.ingestion)
  staging       dbt run of models/staging
  intermediate  dbt run of models/intermediate
  marts         dbt run of models/marts
  checks        dbt test (grain, reconciliation, ...)

and two references on the same landing files: DuckDB's raw scan (sum of
cost: the physical limit of this machine) and a straightforward pandas
showback roll-up (amortized cost per team and month, team from the tags —
what a user would write instead of the warehouse).  This is a script, not a
test: the figures go into docs/benchmarks.md with the machine they came from.
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


def run_stage(command: list[str], env: dict, cwd: Path = ROOT) -> tuple[float, float]:
    """Run one stage in a child process; return (seconds, peak RSS in MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(output.decode(errors="replace")[-4000:])
        raise SystemExit(f"stage failed: {' '.join(command)}")
    return elapsed, usage.ru_maxrss / 1024


def bench_size(rows: int, workdir: Path, threads: int, memory_limit: str) -> dict:
    data_dir = workdir / f"rows-{rows}"
    exports = data_dir / "sample-exports"
    env = {**os.environ, "FINOPS_DATA_DIR": str(data_dir), "FINOPS_EXPORT_URI": str(exports),
           "FINOPS_DUCKDB_THREADS": str(threads), "FINOPS_DUCKDB_MEMORY_LIMIT": memory_limit}
    print(f"\n== {rows:,} line items: generating exports ...", flush=True)
    gen_s, gen_mb = run_stage([PYTHON, "-m", "orchestration.sample_data", "--out", str(exports),
                               "--periods", "2026-10", "--rows", str(rows)], env)
    print(f"   generated in {gen_s:.1f}s", flush=True)
    stages = {}
    stages["load"] = run_stage([PYTHON, "-c", (
        "import os; from pathlib import Path; from orchestration.ingestion.landing import load_exports; "
        "load_exports(os.environ['FINOPS_EXPORT_URI'], Path(os.environ['FINOPS_DATA_DIR']) / 'landing', "
        "threads=int(os.environ['FINOPS_DUCKDB_THREADS']), memory_limit=os.environ['FINOPS_DUCKDB_MEMORY_LIMIT'])"
    )], env)
    dbt = [DBT, "--quiet", "--no-use-colors"]
    run_stage(dbt + ["seed", "--profiles-dir", ".", "--project-dir", "."], env, DBT_DIR)
    for layer in ("staging", "intermediate", "marts"):
        stages[layer] = run_stage(dbt + ["run", "--select", f"path:models/{layer}", "--profiles-dir", ".",
                                         "--project-dir", "."], env, DBT_DIR)
    stages["checks"] = run_stage(dbt + ["test", "--profiles-dir", ".", "--project-dir", "."], env, DBT_DIR)

    import duckdb

    landing_glob = str(data_dir / "landing" / "*" / "**" / "*.parquet")
    con = duckdb.connect(config={"threads": threads})
    started = time.perf_counter()
    line_items, _ = con.execute(
        f"select count(*), sum(coalesce(line_item_unblended_cost, 0)) from read_parquet('{landing_glob}', "
        "union_by_name = true)").fetchone()
    raw_scan_s = time.perf_counter() - started
    pandas_s, pandas_mb = run_stage([PYTHON, str(Path(__file__).with_name("pandas_showback.py")),
                                     str(data_dir / "landing")], env)
    shutil.rmtree(data_dir)
    return {"rows": line_items, "stages": stages, "raw_scan_s": raw_scan_s, "pandas_s": pandas_s,
            "pandas_peak_mb": pandas_mb, "generate_s": gen_s, "generate_peak_mb": gen_mb}


def print_report(results: list[dict], threads: int, memory_limit: str) -> None:
    print(f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"DuckDB threads={threads}, memory_limit={memory_limit}")
    header = f"{'line items':>12} {'stage':<13} {'seconds':>9} {'rows/s':>14} {'peak MB':>9}"
    print(header)
    print("-" * len(header))
    for result in results:
        rows = result["rows"]
        pipeline = 0.0
        for stage, (seconds, peak) in result["stages"].items():
            pipeline += seconds
            print(f"{rows:>12,} {stage:<13} {seconds:>9.2f} {rows / seconds:>14,.0f} {peak:>9,.0f}")
        print(f"{rows:>12,} {'pipeline':<13} {pipeline:>9.2f} {rows / pipeline:>14,.0f} "
              f"{max(p for _, p in result['stages'].values()):>9,.0f}")
        print(f"{rows:>12,} {'raw scan ref':<13} {result['raw_scan_s']:>9.3f} "
              f"{rows / result['raw_scan_s']:>14,.0f} {'':>9}   pipeline / raw scan = "
              f"{pipeline / result['raw_scan_s']:,.0f}x")
        transform = sum(result["stages"][s][0] for s in ("staging", "intermediate", "marts"))
        print(f"{rows:>12,} {'pandas ref':<13} {result['pandas_s']:>9.2f} {rows / result['pandas_s']:>14,.0f} "
              f"{result['pandas_peak_mb']:>9,.0f}   pandas / dbt transform (staging+intermediate+marts) = "
              f"{result['pandas_s'] / transform:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="finops-bench-"))
    os.chdir(ROOT)
    results = [bench_size(rows, workdir, args.threads, args.memory_limit) for rows in args.rows]
    print_report(results, args.threads, args.memory_limit)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
