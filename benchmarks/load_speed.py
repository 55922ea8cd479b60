"""How fast the loader lands a CUR 2.0 parquet month, beside DuckDB's raw COPY of the same files.

    .venv/bin/python benchmarks/load_speed.py                          # 2M line items, 4 files
    .venv/bin/python benchmarks/load_speed.py --before main --rounds 2 # and the loader at `main`, interleaved

It generates one month of CUR 2.0 parquet with the project's generator (payer A
only, --files data files), then, in rounds, each in its own child process:

  raw COPY   DuckDB's ``COPY (SELECT * FROM read_parquet(files)) TO … (FORMAT parquet)``
             with the loader's threads and memory limit: the physical baseline (no
             conforming, no validation, no lineage)
  parts      one single-threaded COPY per data file, --threads of them at a time, into
             per-file parts: the per-file alternative to one COPY with DuckDB's own
             parallelism, measured, not used by the loader
  copy+check the delivered files copied byte for byte and the loader's refusal checks
             run on them: what landing by reference (no projection) would cost
  loader     orchestration.ingestion.landing.load_exports of this working tree (discover,
             validate, conform, profile, swap, sidecar), from a clean landing folder
  before     the same loader at git revision --before (extracted with `git archive`)

and prints wall seconds, rows/s, CPU seconds (user + system of the child) and rows per
CPU second, each with its ratio to the raw COPY of the same round. On a machine shared
with other work the wall times say little; the CPU figures and the ratios measured in
the same round are what to compare.

This is a script, not a test: its figures go into docs/benchmarks.md ("Loader (issue 17)").
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

import duckdb

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PERIOD = "2026-03"

RAW_COPY = """
import glob, sys, duckdb
files = sorted(glob.glob(sys.argv[1] + "/**/*.parquet", recursive=True))
con = duckdb.connect(config={"threads": int(sys.argv[3]), "memory_limit": sys.argv[4]})
con.execute("SET preserve_insertion_order = false")
con.execute(f"COPY (SELECT * FROM read_parquet({files})) TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION snappy)")
"""

PARTS = """
import glob, sys, duckdb
from concurrent.futures import ThreadPoolExecutor
files = sorted(glob.glob(sys.argv[1] + "/**/*.parquet", recursive=True))
con = duckdb.connect(config={"threads": 1, "memory_limit": sys.argv[4]})
con.execute("SET preserve_insertion_order = false")
def copy(i):
    cur = con.cursor()
    cur.execute(f"COPY (SELECT * FROM read_parquet('{files[i]}')) TO '{sys.argv[2]}.{i}' "
                "(FORMAT parquet, COMPRESSION snappy)")
with ThreadPoolExecutor(int(sys.argv[3])) as pool:
    list(pool.map(copy, range(len(files))))
"""

# Landing by reference, for comparison: the delivered files copied byte for byte and the
# loader's refusal checks (issue 15) run on them; no projection, no lineage (what the
# target would take, see docs/benchmarks.md). Its period bounds are those of PERIOD.
COPY_AND_CHECK = """
import glob, shutil, sys, duckdb
files = sorted(glob.glob(sys.argv[1] + "/**/*.parquet", recursive=True))
copies = [shutil.copyfile(f, f"{sys.argv[2]}.{i}") for i, f in enumerate(files)]
con = duckdb.connect(config={"threads": int(sys.argv[3]), "memory_limit": sys.argv[4]})
con.execute("SET TimeZone = 'UTC'")
start = "line_item_usage_start_date"
print(con.execute(f\"\"\"SELECT count(*),
    count(*) FILTER (WHERE {start} < DATE '2026-03-01' OR {start} >= DATE '2026-04-01'),
    count(*) - count(line_item_unblended_cost), count(*) FILTER (WHERE NOT isfinite(line_item_unblended_cost)),
    sum(line_item_unblended_cost) FROM read_parquet({copies})\"\"\").fetchone())
"""

LOADER = """
import sys
from pathlib import Path
from orchestration.ingestion.landing import load_exports
results = load_exports(sys.argv[1], Path(sys.argv[2]), threads=int(sys.argv[3]), memory_limit=sys.argv[4])
print(sum(r.line_items for r in results))
"""


def run_child(code: str, args: list[str], cwd: Path) -> tuple[float, float, float, str]:
    """Run a child Python; return (wall s, CPU s, peak RSS MB, its stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen([PYTHON, "-c", code, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(cwd)})
    output = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(output[-4000:])
        raise SystemExit(f"child failed in {cwd}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output


def generate(exports: Path, rows: int, files: int, seed: int) -> None:
    marker = exports / f".generated-{seed}-{rows}-{files}"
    if marker.exists():
        print(f"reusing the export in {exports}", flush=True)
        return
    shutil.rmtree(exports, ignore_errors=True)
    subprocess.run([PYTHON, "-m", "orchestration.sample_data", "--out", str(exports), "--periods", PERIOD,
                    "--rows", str(rows), "--seed", str(seed), "--layout", "payer-a=cur2",
                    "--rows-per-file", str(-(-rows // files))], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    marker.touch()


def checkout(ref: str, into: Path) -> Path:
    """The orchestration package at git revision ``ref``, extracted under ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "orchestration", "dbt_project/dbt_project.yml"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000, help="line items of the month (at most 3M on 2 cores)")
    ap.add_argument("--files", type=int, default=4, help="data files of the delivery")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument("--before", help="git revision whose loader runs beside this one (e.g. main)")
    ap.add_argument("--rounds", type=int, default=1, help="rounds, each running every variant once")
    ap.add_argument("--no-parts", action="store_true", help="skip the per-file parts variant")
    ap.add_argument("--workdir", type=Path, default=ROOT / "data" / "load-speed")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    args.workdir = args.workdir.resolve()
    exports = args.workdir / "exports"
    generate(exports, args.rows, args.files, args.seed)
    data_files = sorted(exports.rglob("*.parquet"))
    size_mb = sum(p.stat().st_size for p in data_files) / 1e6
    variants = [("raw COPY", RAW_COPY, ROOT)]
    if not args.no_parts:
        variants.append(("parts", PARTS, ROOT))
    variants.append(("copy+check", COPY_AND_CHECK, ROOT))
    variants.append(("loader", LOADER, ROOT))
    scratch = Path(tempfile.mkdtemp(prefix="load-speed-", dir=args.workdir))
    try:
        if args.before:
            variants.append((f"loader @{args.before}", LOADER, checkout(args.before, scratch / "before")))
        print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"threads={args.threads}, memory_limit={args.memory_limit}; {len(data_files)} files, {size_mb:,.0f} MB; "
              f"load average at start {os.getloadavg()[0]:.1f}", flush=True)
        rows = None
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, *_ in variants}
        for round_ in range(1, args.rounds + 1):
            raw = None
            for name, code, cwd in variants:
                out = scratch / "out"
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                target = str(out / ("landing" if code is LOADER else "raw.parquet"))
                wall, cpu, peak, printed = run_child(code, [str(exports), target, str(args.threads),
                                                            args.memory_limit], cwd)
                if code is LOADER:
                    landed = int(printed.split()[-1])
                    rows = rows or landed
                    if landed != rows:
                        raise SystemExit(f"{name} landed {landed:,} line items, expected {rows:,}")
                elif rows is None:
                    paths = [str(p) for p in data_files]
                    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet({paths})").fetchone()[0]
                raw = raw or (wall, cpu)
                results[name].append((wall, cpu, peak))
                print(f"round {round_}  {name:18s} {rows:>11,} rows  wall {wall:6.2f} s {rows / wall:>10,.0f} rows/s"
                      f"  cpu {cpu:6.2f} s {rows / cpu:>10,.0f} rows/cpu-s  peak {peak:5.0f} MB"
                      f"  wall/raw {wall / raw[0]:.2f}x cpu/raw {cpu / raw[1]:.2f}x", flush=True)
        print(json.dumps({"rows": rows, "threads": args.threads, "memory_limit": args.memory_limit,
                          "results": results}))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
