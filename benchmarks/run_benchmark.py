"""Measure the warehouse against the targets of issue 17, side by side in one run.

    .venv/bin/python benchmarks/run_benchmark.py                            # 10M line items a month; 12 x 10M refresh
    .venv/bin/python benchmarks/run_benchmark.py --refresh-rows 1000000     # the refresh on 12 x 1M instead
    .venv/bin/python benchmarks/run_benchmark.py --rows-100m --markdown results.md
    .venv/bin/python benchmarks/run_benchmark.py --rows 20000 --months 3    # tiny: what tests/test_benchmark.py runs

Every figure is measured through the product's own command, `finops build`, as a user runs
it (load + dbt build + checks + publish + docs + review pack), in a child process with
FINOPS_EXPORT_URI and FINOPS_DATA_DIR pointing at scratch folders. Peak RSS is the larger of
os.wait4's ru_maxrss (the largest single process) and the summed resident memory of the
process tree sampled every 0.1 s (`finops` and the `dbt` process it starts run at once).

  month     one month of --rows line items (the project's generator, both payers delivering
            CUR 2.0 parquet): a cold `finops build`, then the hand-written DuckDB baseline
            (benchmarks/duckdb_baseline.sql) on the same export files, then `finops build`
            again with nothing changed. The run stops if the baseline's billed, amortized or
            untagged totals per period differ from the published marts by more than half a cent.
  refresh   --months months of --refresh-rows line items (default --rows) built, then a new
            delivery of the last two months and `finops build` again, against a one-month build
            of the same size measured in the same run (the month above when the sizes match).
  100M      with --rows-100m: one month of 100M line items under a 4 GB cap.

It prints one table, figure | measured | target | met?, and with --markdown FILE writes it
with the machine it ran on. Absolute targets (seconds, GB) are for 10M line items a month;
at another size they are reported "n/a". This is a script, not a test: only figures from a
quiet machine say anything (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
FINOPS = str(Path(sys.executable).with_name("finops"))
BASELINE_SQL = Path(__file__).with_name("duckdb_baseline.sql")
SEEDS = ROOT / "dbt_project" / "seeds"
GB = 1024 ** 3

TARGET_ROWS = 10_000_000  # the size the absolute targets of issue 17 are set for
BIG_ROWS = 100_000_000
TARGETS = {"build_s": 60.0, "build_rss_gb": 3.0, "vs_baseline": 15.0, "rerun_s": 10.0, "refresh_ratio": 1.2,
           "big_rss_gb": 4.0}
LAYOUT = ["payer-a=cur2", "payer-b=cur2"]  # both payers deliver CUR 2.0 parquet
LAST_PERIOD = "2026-10"
TOLERANCE = 0.005  # half a cent


# ---------------------------------------------------------------------------------------------
# running a stage


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, now (0 once it has gone)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def run_stage(command: list[str], env: dict) -> dict:
    """Run one stage in a child process: {seconds, peak_rss (bytes), output}. Stops the run if it fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stdout.read(65536), b"")))
    reader.start()
    sampled = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        sampled = max(sampled, _tree_rss(proc.pid))
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    output = b"".join(chunks).decode(errors="replace")
    if proc.returncode != 0:
        sys.stderr.write(output[-4000:])
        raise SystemExit(f"stage failed (exit {proc.returncode}): {' '.join(command)}")
    return {"seconds": elapsed, "peak_rss": max(usage.ru_maxrss * 1024, sampled),
            "wait4_maxrss": usage.ru_maxrss * 1024, "sampled_tree_rss": sampled, "output": output}


def stage_lines(output: str, seconds: float) -> list[str]:
    """The stage lines `finops build` printed (its profile: one line per stage with its time), and the
    time outside them (start-up: imports, Dagster, parsing the dbt project; discovery; the summary)."""
    lines, inside = [], 0
    for line in output.splitlines():
        match = re.search(r"(\d+):(\d\d):(\d\d)\s*$", line)
        if match:
            lines.append(re.sub(r"\s{2,}", " ", line.strip()))
            hours, minutes, secs = map(int, match.groups())
            inside += hours * 3600 + minutes * 60 + secs
    if lines:
        lines.append(f"outside the stages ~{max(seconds - inside, 0):.0f}s")
    return lines


def scenario_env(data_dir: Path, args: argparse.Namespace, memory_limit: str | None = None) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    env.update(FINOPS_DATA_DIR=str(data_dir / "data"), FINOPS_EXPORT_URI=str(data_dir / "exports"),
               PYTHONUNBUFFERED="1")
    if args.threads:
        env["FINOPS_DUCKDB_THREADS"] = str(args.threads)
    if memory_limit or args.memory_limit:
        env["FINOPS_DUCKDB_MEMORY_LIMIT"] = memory_limit or args.memory_limit
    return env


def generate(env: dict, periods: list[str], rows: int, seed: int, keep: bool) -> float:
    """Write exports with the project's generator; with keep, reuse this very set from an earlier run."""
    out = Path(env["FINOPS_EXPORT_URI"])
    marker = out / f".generated-{seed}-{rows}-{'_'.join(periods)}"
    if keep and marker.exists():
        print(f"   reusing the exports in {out}", flush=True)
        return 0.0
    stage = run_stage([PYTHON, "-m", "orchestration.sample_data", "--out", str(out), "--periods", *periods,
                       "--rows", str(rows), "--seed", str(seed), "--layout", *LAYOUT], env)
    for old in out.glob(".generated-*"):
        old.unlink()
    marker.touch()
    print(f"   generated {len(periods)} month(s) x {rows:,} line items in {stage['seconds']:.0f}s", flush=True)
    return stage["seconds"]


def reset(folder: Path, keep_exports: bool) -> None:
    """Remove what a run wrote (an interrupted run leaves its warehouse behind; measuring on top of
    it would time a build with nothing to do); with keep_exports the generated exports stay."""
    if not folder.exists():
        return
    for child in folder.iterdir():
        if not (keep_exports and child.name == "exports"):
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def finops_build(env: dict, what: str) -> dict:
    stage = run_stage([FINOPS, "build"], env)
    stage["stages"] = stage_lines(stage["output"], stage["seconds"])
    stage["up_to_date"] = re.search(r"up[ -]to[ -]date", stage["output"], re.IGNORECASE) is not None
    print(f"   {what}: {stage['seconds']:.1f}s, peak RSS {stage['peak_rss'] / GB:.2f} GB", flush=True)
    return stage


# ---------------------------------------------------------------------------------------------
# the hand-written baseline and the check that it computed the warehouse's bill


def export_files(export_uri: str) -> list[str]:
    """The parquet data files of each CUR 2.0 export's current delivery, from its manifests."""
    files = []
    for manifest in sorted(Path(export_uri).glob("**/metadata/BILLING_PERIOD=*/*-Manifest.json")):
        export_dir = manifest.parents[2]
        for uri in json.loads(manifest.read_text())["dataFiles"]:
            # a data file's URI ends with <export>/data/BILLING_PERIOD=.../<file>
            relative = uri.split(f"/{export_dir.name}/", 1)[1]
            files.append(str(export_dir / relative))
    return files


BASELINE_CHILD = """
import json, os, sys, time
import duckdb
sql, files, seeds = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
config = {"threads": int(os.environ.get("FINOPS_DUCKDB_THREADS") or os.cpu_count() or 2),
          "memory_limit": os.environ.get("FINOPS_DUCKDB_MEMORY_LIMIT", "2GB")}
started = time.perf_counter()
con = duckdb.connect(config=config)
script = open(sql).read().replace("{files}", repr(files)).replace("{seeds}", seeds)
result = con.execute(script).fetchall()  # every statement; the result is the last one's
columns = ["billing_period", "line_items", "billed_cost", "effective_cost", "untagged_billed_cost",
           "shared_pool_cost", "shared_split_cost"]
rows = [dict(zip(columns, row)) for row in result]
print("BASELINE " + json.dumps({"query_seconds": time.perf_counter() - started, "periods": rows}))
"""


def run_baseline(env: dict) -> dict:
    files = export_files(env["FINOPS_EXPORT_URI"])
    stage = run_stage([PYTHON, "-c", BASELINE_CHILD, str(BASELINE_SQL), json.dumps(files), str(SEEDS)], env)
    result = json.loads(stage.pop("output").split("BASELINE ", 1)[1])
    print(f"   hand-written DuckDB baseline: {stage['seconds']:.1f}s over {len(files)} files, "
          f"peak RSS {stage['peak_rss'] / GB:.2f} GB", flush=True)
    return {**stage, **result, "files": len(files)}


def published_totals(env: dict) -> dict[str, dict]:
    """Per billing period, the published rpt_allocation_completeness figures the baseline is checked
    against (untagged: billed cost of lines without a team tag, the reconciliation column)."""
    import duckdb

    published = Path(env["FINOPS_DATA_DIR"]) / "published" / "finops.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        rows = con.execute("""
            select strftime(billing_period, '%Y-%m'), line_item_count, canonical_billed_cost,
                   canonical_effective_cost, billed_cost_without_team_tag
            from marts.rpt_allocation_completeness order by billing_period""").fetchall()
    return {period: {"line_items": items, "billed_cost": billed, "effective_cost": effective,
                     "untagged_billed_cost": untagged}
            for period, items, billed, effective, untagged in rows}


def check_same_bill(baseline: dict, warehouse: dict[str, dict]) -> None:
    """Stop unless the baseline and the published marts hold the same bill, period by period."""
    mine = {row["billing_period"]: row for row in baseline["periods"]}
    if sorted(mine) != sorted(warehouse):
        raise SystemExit(f"the baseline found billing periods {sorted(mine)}, the published warehouse "
                         f"{sorted(warehouse)}: they did not read the same exports, the comparison would mean nothing")
    for period, theirs in warehouse.items():
        for name in ("billed_cost", "effective_cost", "untagged_billed_cost"):
            if abs(mine[period][name] - theirs[name]) > TOLERANCE:
                raise SystemExit(
                    f"the hand-written baseline and the warehouse disagree on {name} for {period}: "
                    f"{mine[period][name]:,.4f} vs {theirs[name]:,.4f} (published rpt_allocation_completeness): "
                    "they are not computing the same bill, the comparison would mean nothing")
        if mine[period]["line_items"] != theirs["line_items"]:
            raise SystemExit(f"the baseline counted {mine[period]['line_items']:,} line items for {period}, the "
                             f"warehouse {theirs['line_items']:,}: they did not read the same delivery")
    print(f"   same bill: billed, amortized and untagged cost of {len(warehouse)} period(s) equal "
          "the published marts' to half a cent", flush=True)


# ---------------------------------------------------------------------------------------------
# the scenarios


def periods_ending(last: str, months: int) -> list[str]:
    year, month = map(int, last.split("-"))
    index = year * 12 + month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - months + 1, index + 1)]


def bench_month(rows: int, args: argparse.Namespace, *, rerun: bool, baseline: bool) -> dict:
    folder = args.workdir / f"month-{rows}"
    env = scenario_env(folder, args)
    print(f"\n== one month, {rows:,} line items ({folder})", flush=True)
    reset(folder, args.keep_exports)
    generate(env, [LAST_PERIOD], rows, 42, args.keep_exports)
    result = {"rows": rows, "build": finops_build(env, "finops build")}
    warehouse = published_totals(env)
    result["line_items"] = sum(p["line_items"] for p in warehouse.values())
    result["warehouse_totals"] = warehouse
    if baseline:
        result["baseline"] = run_baseline(env)
        check_same_bill(result["baseline"], warehouse)
    if rerun:
        result["rerun"] = finops_build(env, "finops build again, nothing changed")
    reset(folder, args.keep_exports)
    return result


def bench_refresh(rows: int, months: int, args: argparse.Namespace) -> dict:
    folder = args.workdir / f"refresh-{months}x{rows}"
    env = scenario_env(folder, args)
    periods = periods_ending(LAST_PERIOD, months)
    print(f"\n== {months} months x {rows:,} line items, then a new delivery of the last two", flush=True)
    reset(folder, keep_exports=False)  # the refresh re-delivers months: never reuse these exports
    generate(env, periods, rows, 42, keep=False)
    result = {"rows_per_month": rows, "months": months, "periods": periods}
    result["full_build"] = finops_build(env, f"finops build of {months} months")
    generate(env, periods[-2:], rows, 43, keep=False)  # the daily refresh: another execution of both
    result["refresh"] = finops_build(env, "finops build after the new delivery")
    warehouse = published_totals(env)
    result["warehouse_totals"] = warehouse
    result["baseline"] = run_baseline(env)
    check_same_bill(result["baseline"], warehouse)
    reset(folder, keep_exports=False)
    return result


def bench_big(args: argparse.Namespace) -> dict:
    """100M line items in one month under a 4 GB cap: DuckDB's memory limit below it, the peak RSS checked."""
    folder = args.workdir / f"month-{args.big_rows}"
    env = scenario_env(folder, args, memory_limit=args.big_memory_limit)
    print(f"\n== one month, {args.big_rows:,} line items under a {TARGETS['big_rss_gb']:.0f} GB cap", flush=True)
    reset(folder, args.keep_exports)
    generate(env, [LAST_PERIOD], args.big_rows, 42, args.keep_exports)
    result = {"rows": args.big_rows, "memory_limit": args.big_memory_limit}
    try:
        result["build"] = finops_build(env, "finops build")
        result["line_items"] = sum(p["line_items"] for p in published_totals(env).values())
    except SystemExit as failed:  # out of memory is a result here, not the end of the run
        result["failed"] = str(failed)
    reset(folder, args.keep_exports)
    return result


# ---------------------------------------------------------------------------------------------
# the report


def machine() -> dict:
    import duckdb

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": round(memory / GB, 1),
            "machine": platform.machine(), "python": platform.python_version(), "duckdb": duckdb.__version__,
            "commit": commit.stdout.strip() or "unknown", "load_average_start": os.getloadavg()}


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "missed")


def figures(results: dict) -> list[tuple[str, str, str, str]]:
    """(figure, measured, target, met?) rows of the report."""
    month, refresh, big = results["month"], results.get("refresh"), results.get("big")
    rows_n = month["rows"]
    at_target = rows_n == TARGET_ROWS
    size = f"{rows_n:,}"
    build = month["build"]
    table = []

    def absolute(ok: bool) -> bool | None:
        return ok if at_target else None

    table.append((f"`finops build`, one month of {size} line items, end to end", f"{build['seconds']:.1f} s",
                  f"≤ {TARGETS['build_s']:.0f} s at {TARGET_ROWS:,}",
                  _verdict(absolute(build["seconds"] <= TARGETS["build_s"]))))
    table.append(("peak RSS of that build", f"{build['peak_rss'] / GB:.2f} GB",
                  f"≤ {TARGETS['build_rss_gb']:.0f} GB at {TARGET_ROWS:,}",
                  _verdict(absolute(build["peak_rss"] <= TARGETS["build_rss_gb"] * GB))))
    baseline = month["baseline"]
    table.append(("hand-written DuckDB baseline on the same files (same bill: checked)",
                  f"{baseline['seconds']:.1f} s, {baseline['peak_rss'] / GB:.2f} GB", "reference", ""))
    ratio = build["seconds"] / baseline["seconds"]
    table.append(("build / baseline", f"{ratio:.1f}×", f"≤ {TARGETS['vs_baseline']:.0f}×",
                  _verdict(ratio <= TARGETS["vs_baseline"])))
    rerun = month["rerun"]
    said = "said \"up to date\"" if rerun["up_to_date"] else "did not say \"up to date\""
    table.append(("re-run with nothing changed", f"{rerun['seconds']:.1f} s ({said})",
                  f"≤ {TARGETS['rerun_s']:.0f} s at {TARGET_ROWS:,}",
                  _verdict(absolute(rerun["seconds"] <= TARGETS["rerun_s"]))))
    if refresh:
        single = results.get("refresh_month", month)["build"]["seconds"]
        refreshed = refresh["refresh"]["seconds"]
        table.append((f"daily refresh of the 2 open periods with {refresh['months']} months of "
                      f"{refresh['rows_per_month']:,} loaded / one-month build of {refresh['rows_per_month']:,}",
                      f"{refreshed / single:.2f}× ({refreshed:.1f} s / {single:.1f} s)",
                      f"≤ {TARGETS['refresh_ratio']}×", _verdict(refreshed / single <= TARGETS["refresh_ratio"])))
    else:
        table.append(("daily refresh of the 2 open periods with 12 months loaded / one-month build",
                      "not run (--months 0)", f"≤ {TARGETS['refresh_ratio']}×", "n/a"))
    if big:
        cap = f"FINOPS_DUCKDB_MEMORY_LIMIT={big['memory_limit']}, peak RSS of the process tree checked"
        if "failed" in big:
            measured, ok = f"failed ({cap})", False
        else:
            measured = f"{big['build']['seconds']:.0f} s, peak RSS {big['build']['peak_rss'] / GB:.2f} GB ({cap})"
            ok = big["build"]["peak_rss"] <= TARGETS["big_rss_gb"] * GB
        table.append((f"one month of {big['rows']:,} line items under a {TARGETS['big_rss_gb']:.0f} GB cap",
                      measured, "completes, peak RSS ≤ 4 GB",
                      _verdict(ok if big["rows"] == BIG_ROWS or not ok else None)))
    else:
        table.append((f"one month of {BIG_ROWS:,} line items under a {TARGETS['big_rss_gb']:.0f} GB cap",
                      "not run (--rows-100m)", "completes, peak RSS ≤ 4 GB", "n/a"))
    return table


def details(results: dict) -> list[str]:
    """What the table's figures are made of: the builds' stage lines, the other builds, the bill checked."""
    month, refresh = results["month"], results.get("refresh")
    lines = [f"one month: {month['line_items']:,} line items; baseline read {month['baseline']['files']} "
             f"parquet files in {month['baseline']['query_seconds']:.1f} s of query time"]
    for period, row in sorted(month["warehouse_totals"].items()):
        lines.append(f"  {period}: billed {row['billed_cost']:,.2f}, amortized {row['effective_cost']:,.2f}, "
                     f"untagged {row['untagged_billed_cost']:,.2f} (warehouse = baseline to half a cent)")
    for label, stage in (("cold build", month["build"]), ("re-run", month["rerun"])):
        lines.append(f"  stages of the {label}: " + "; ".join(stage["stages"]) if stage["stages"] else
                     f"  stages of the {label}: (none printed)")
    if refresh:
        lines.append(f"refresh: full build of {refresh['months']} x {refresh['rows_per_month']:,} "
                     f"{refresh['full_build']['seconds']:.1f} s, peak RSS {refresh['full_build']['peak_rss'] / GB:.2f} "
                     f"GB; the refresh build's peak RSS {refresh['refresh']['peak_rss'] / GB:.2f} GB; after it the "
                     f"baseline over all {len(refresh['periods'])} months ({refresh['baseline']['seconds']:.1f} s) "
                     "equals the published marts")
        lines.append("  stages of the refresh build: " + "; ".join(refresh["refresh"]["stages"]))
    big = results.get("big")
    if big and "build" in big:
        lines.append(f"{big['rows']:,} requested: {big['line_items']:,} line items; stages: "
                     + "; ".join(big["build"]["stages"]))
    elif big:
        lines.append(f"{big['rows']:,} requested: {big['failed']} (its output's end is above the table)")
    return lines


def render_text(table: list[tuple[str, ...]]) -> str:
    header = ("figure", "measured", "target", "met?")
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(4)]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(header, widths)).rstrip(),
             "-+-".join("-" * width for width in widths)]
    lines += [" | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]
    return "\n".join(lines)


def render_markdown(table: list[tuple[str, ...]], results: dict) -> str:
    m = results["machine"]
    lines = [f"Measured {results['finished']} at commit {m['commit']}: {m['machine']}, {m['cpu']}, {m['cores']} cores, "
             f"{m['memory_gb']} GB, Python {m['python']}, DuckDB {m['duckdb']}; settings: "
             f"{results['settings']}; load average at start {', '.join(f'{x:.2f}' for x in m['load_average_start'])}, "
             f"at end {', '.join(f'{x:.2f}' for x in results['load_average_end'])}.",
             "", "| figure | measured | target | met? |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in table]
    lines += ["", "Details:", ""] + [f"- {line.strip()}" if not line.startswith("  ") else f"  - {line.strip()}"
                                      for line in details(results)]
    return "\n".join(lines) + "\n"


def strip_outputs(value):
    """The results without the builds' full output (kept out of the JSON: it is long)."""
    if isinstance(value, dict):
        return {k: strip_outputs(v) for k, v in value.items() if k != "output"}
    if isinstance(value, list):
        return [strip_outputs(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=TARGET_ROWS, help="line items of the one-month build")
    parser.add_argument("--months", type=int, default=12, help="months loaded before the refresh (0: skip it)")
    parser.add_argument("--refresh-rows", type=int, help="line items per month of the refresh (default: --rows)")
    parser.add_argument("--rows-100m", action="store_true", help="also build one month of 100M line items under a cap")
    parser.add_argument("--big-rows", type=int, default=BIG_ROWS, help=argparse.SUPPRESS)  # tests run it small
    parser.add_argument("--big-memory-limit", default="3GB",
                        help="FINOPS_DUCKDB_MEMORY_LIMIT of the 100M build (default 3GB: the rest of the 4 GB "
                             "is for the finops and dbt processes)")
    parser.add_argument("--threads", type=int, help="FINOPS_DUCKDB_THREADS (default: the product's, all cores)")
    parser.add_argument("--memory-limit", help="FINOPS_DUCKDB_MEMORY_LIMIT (default: the product's, 2GB)")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a new temp dir)")
    parser.add_argument("--keep-exports", action="store_true",
                        help="keep the one-month exports in --workdir and reuse them in the next run")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the table and the machine as markdown here")
    args = parser.parse_args(argv)
    args.workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="finops-bench-"))).resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    refresh_rows = args.refresh_rows or args.rows

    results = {"machine": machine(),
               "settings": f"FINOPS_DUCKDB_THREADS={args.threads or 'default'}, "
                           f"FINOPS_DUCKDB_MEMORY_LIMIT={args.memory_limit or 'default'}"}
    results["month"] = bench_month(args.rows, args, rerun=True, baseline=True)
    if args.months:
        if refresh_rows != args.rows:  # the one-month build the refresh is compared with: same size, same run
            results["refresh_month"] = bench_month(refresh_rows, args, rerun=False, baseline=False)
        results["refresh"] = bench_refresh(refresh_rows, args.months, args)
    if args.rows_100m:
        results["big"] = bench_big(args)
    results["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results["load_average_end"] = os.getloadavg()

    table = figures(results)
    results["table"] = [dict(zip(("figure", "measured", "target", "met"), row)) for row in table]
    m = results["machine"]
    print(f"\nMachine: {m['machine']}, {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}, "
          f"DuckDB {m['duckdb']}, commit {m['commit']}; {results['settings']}\n")
    print(render_text(table))
    print()
    print("\n".join(details(results)))
    if args.markdown:
        args.markdown.write_text(render_markdown(table, results))
    if args.json:
        args.json.write_text(json.dumps(strip_outputs(results), indent=2, default=str))


if __name__ == "__main__":
    main()
