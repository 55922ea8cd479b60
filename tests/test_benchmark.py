"""The benchmark script runs end to end at a tiny size and measures the bill it generated.

Its timings are not checked (they belong to the script, on a quiet machine: docs/benchmarks.md);
what is checked is that the command of docs/benchmarks.md still works through `finops build`,
prints the table of issue 17's targets, writes it as markdown, and that the hand-written DuckDB
baseline it compares with computed the very bill the warehouse published. It runs four real
`finops build`s (a month, its re-run, three months, the refresh): several minutes.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.sample_data import write_sample_exports

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("run_benchmark", ROOT / "benchmarks" / "run_benchmark.py")
run_benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_benchmark)
ROWS = 3000
MONTHS = 3
FIGURES = [
    f"`finops build`, one month of {{rows}} line items, end to end",
    "peak RSS of that build",
    "hand-written DuckDB baseline on the same files (same bill: checked)",
    "build / baseline",
    "re-run with nothing changed",
    f"daily refresh of the 2 open periods with {MONTHS} months of {{rows}} loaded / one-month build of {{rows}}",
    "one month of 100,000,000 line items under a 4 GB cap",
]


def generated(tmp_path: Path, periods: list[str], seed: int = 42) -> dict[str, dict]:
    """Per period, the generator's own totals for what the benchmark generates (both payers, CUR 2.0)."""
    layout = dict(item.split("=") for item in run_benchmark.LAYOUT)
    summary = write_sample_exports(tmp_path / f"expected-{len(periods)}-{seed}", periods=periods,
                                   rows_per_period=ROWS, seed=seed, layout=layout)
    totals: dict[str, dict] = {}
    for payer in summary.periods:
        period = totals.setdefault(payer.period, {"line_items": 0, "billed_cost": 0.0, "effective_cost": 0.0,
                                                  "untagged_billed_cost": 0.0})
        period["line_items"] += payer.line_item_count
        period["billed_cost"] += payer.billed_cost
        period["effective_cost"] += payer.amortized_cost
        period["untagged_billed_cost"] += payer.untagged_billed_cost
    return totals


def assert_same_totals(measured: dict[str, dict], expected: dict[str, dict], tolerance: float) -> None:
    assert sorted(measured) == sorted(expected)
    for period, row in expected.items():
        assert measured[period]["line_items"] == row["line_items"], period
        for name in ("billed_cost", "effective_cost", "untagged_billed_cost"):
            assert measured[period][name] == pytest.approx(row[name], abs=tolerance), (period, name)


@pytest.fixture(scope="module")
def benchmark_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bench")
    figures, markdown = workdir / "figures.json", workdir / "figures.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run_benchmark.py"), "--rows", str(ROWS), "--months", str(MONTHS),
         "--workdir", str(workdir / "scratch"), "--json", str(figures), "--markdown", str(markdown)],
        cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, json.loads(figures.read_text()), markdown.read_text()


def test_the_report_is_one_table_of_every_target(benchmark_run):
    report, results, _ = benchmark_run
    rows = f"{ROWS:,}"
    table = [line.split(" | ") for line in report.splitlines() if " | " in line]
    assert [cell.strip() for cell in table[0]] == ["figure", "measured", "target", "met?"]
    figures = [row[0].strip() for row in table[1:]]
    assert figures == [figure.format(rows=rows) for figure in FIGURES]
    verdicts = {row[0].strip(): row[3].strip() if len(row) > 3 else "" for row in table[1:]}
    # the absolute targets are set for 10M line items a month: at this size they do not apply
    assert verdicts[FIGURES[0].format(rows=rows)] == verdicts["peak RSS of that build"] == "n/a"
    assert verdicts["re-run with nothing changed"] == "n/a"
    assert verdicts["build / baseline"] in ("met", "missed")
    assert verdicts[FIGURES[5].format(rows=rows)] in ("met", "missed")
    assert verdicts[FIGURES[6]] == "n/a"
    assert [row["figure"] for row in results["table"]] == figures
    assert "not run (--rows-100m)" in report


def test_the_markdown_holds_the_same_table_and_the_machine(benchmark_run):
    _, results, markdown = benchmark_run
    machine = results["machine"]
    assert markdown.startswith(f"Measured {results['finished']} at commit {machine['commit']}: ")
    assert f"{machine['cores']} cores" in markdown and f"DuckDB {machine['duckdb']}" in markdown
    assert "| figure | measured | target | met? |" in markdown
    for row in results["table"]:
        assert f"| {row['figure']} | {row['measured']} | {row['target']} | {row['met']} |" in markdown


def test_the_baseline_computed_the_bill_the_warehouse_published(benchmark_run, tmp_path):
    _, results, _ = benchmark_run
    month = results["month"]
    baseline = {row["billing_period"]: row for row in month["baseline"]["periods"]}
    assert_same_totals(baseline, month["warehouse_totals"], tolerance=run_benchmark.TOLERANCE)
    # and both are the bill the generator wrote
    expected = generated(tmp_path, [run_benchmark.LAST_PERIOD])
    assert_same_totals(month["warehouse_totals"], expected, tolerance=1e-6)
    assert_same_totals(baseline, expected, tolerance=1e-6)
    # the shared-cost split hands out exactly the pooled cost
    (period,) = baseline.values()
    assert period["shared_pool_cost"] > 0
    assert period["shared_split_cost"] == pytest.approx(period["shared_pool_cost"], abs=1e-6)


def test_the_refresh_replaces_the_two_redelivered_months(benchmark_run, tmp_path):
    _, results, _ = benchmark_run
    refresh = results["refresh"]
    periods = run_benchmark.periods_ending(run_benchmark.LAST_PERIOD, MONTHS)
    assert refresh["periods"] == periods == ["2026-08", "2026-09", "2026-10"]
    # after the refresh: the first month of the first delivery, the last two of the new one (seed 43)
    expected = {**generated(tmp_path, periods[:-2]), **generated(tmp_path, periods[-2:], seed=43)}
    assert_same_totals(refresh["warehouse_totals"], expected, tolerance=1e-6)
    baseline = {row["billing_period"]: row for row in refresh["baseline"]["periods"]}
    assert_same_totals(baseline, expected, tolerance=1e-6)


def test_a_baseline_that_read_another_bill_stops_the_run(benchmark_run):
    _, results, _ = benchmark_run
    month = results["month"]
    baseline = copy.deepcopy(month["baseline"])
    period = baseline["periods"][0]
    period["effective_cost"] += 0.01
    with pytest.raises(SystemExit) as stopped:
        run_benchmark.check_same_bill(baseline, month["warehouse_totals"])
    theirs = month["warehouse_totals"][period["billing_period"]]["effective_cost"]
    assert str(stopped.value) == (
        f"the hand-written baseline and the warehouse disagree on effective_cost for {period['billing_period']}: "
        f"{period['effective_cost']:,.4f} vs {theirs:,.4f} (published rpt_allocation_completeness): "
        "they are not computing the same bill, the comparison would mean nothing")
