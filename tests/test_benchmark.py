"""The benchmark script runs end to end at a tiny size and measures the bill it generated.

Its figures are not checked (timing belongs to the script, on a quiet machine: docs/benchmarks.md);
what is checked is that the one command of the README still works, prints the table with its
ratios, and that every reference it compares with computed the same bill.
"""

from __future__ import annotations

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
MONTH_ROWS = 3000
INCREMENTAL_ROWS = 1000


def generated_periods(tmp_path: Path, periods: list[str], rows: int, seed: int = 42) -> list[dict]:
    """The generator's summary, per payer and period, of what the benchmark's call (the CLI's layout) exports."""
    return write_sample_exports(tmp_path / f"expected-{rows}-{len(periods)}-{seed}", periods=periods,
                                rows_per_period=rows, seed=seed).to_dict()["periods"]


def bill(summary: list[dict], only: list[str] | None = None) -> dict:
    """Line items and costs of a generator summary; `only`: of these periods."""
    summary = [p for p in summary if only is None or p["period"] in only]
    return {"line_items": sum(p["line_item_count"] for p in summary),
            "billed_cost": sum(p["billed_cost"] for p in summary),
            "amortized_cost": sum(p["amortized_cost"] for p in summary)}


@pytest.fixture(scope="module")
def benchmark_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bench")
    figures = workdir / "figures.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run_benchmark.py"), "--rows", str(MONTH_ROWS),
         "--incremental-rows", str(INCREMENTAL_ROWS), "--workdir", str(workdir / "scratch"), "--json", str(figures)],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, json.loads(figures.read_text())


def test_one_month_figures_are_measured_on_the_generated_bill(benchmark_run, tmp_path):
    _, results = benchmark_run
    months = {r["requested_rows"]: r for r in results if r["kind"] == "month"}
    # the incremental run's one-month build of the same size is what its refresh is compared with
    assert sorted(months) == [INCREMENTAL_ROWS, MONTH_ROWS]
    month = months[MONTH_ROWS]
    expected = bill(generated_periods(tmp_path, ["2026-10"], MONTH_ROWS))
    assert month["rows"] == expected["line_items"]
    billed, total = month["showback_totals"]
    assert billed == pytest.approx(expected["billed_cost"], abs=1e-6)
    assert total == pytest.approx(expected["amortized_cost"], abs=1e-6)
    assert set(month["busy"]) == {"staging", "intermediate", "marts", "checks"}
    assert month["pandas"][0] > 0 and month["build"][0] > 0


def test_the_refresh_replaces_the_two_redelivered_months(benchmark_run, tmp_path):
    _, results = benchmark_run
    (incremental,) = [r for r in results if r["kind"] == "incremental"]
    periods = run_benchmark.PERIODS_12
    assert incremental["months"] == len(periods) == 12
    first_delivery = generated_periods(tmp_path, periods, INCREMENTAL_ROWS)
    assert incremental["rows"] == bill(first_delivery)["line_items"]
    # after the refresh: ten months of the first delivery, the last two of the new one (seed 43)
    kept = bill(first_delivery, only=periods[:-2])
    redelivered = bill(generated_periods(tmp_path, periods[-2:], INCREMENTAL_ROWS, seed=43))
    billed, total = incremental["refresh_showback_totals"]
    assert billed == pytest.approx(kept["billed_cost"] + redelivered["billed_cost"], abs=1e-6)
    assert total == pytest.approx(kept["amortized_cost"] + redelivered["amortized_cost"], abs=1e-6)


def test_the_report_prints_every_stage_and_ratio(benchmark_run):
    report, results = benchmark_run
    month_rows = next(r["rows"] for r in results if r.get("requested_rows") == MONTH_ROWS)
    lines = [line for line in report.splitlines() if line.strip().startswith(f"{month_rows:,} ")]
    stages = [line.split(None, 1)[1] for line in lines]
    for stage in ("load", "build (dbt build, all marts+checks)", "  busy: checks", "ref: DuckDB raw scan sum(cost)",
                  "ref: pandas showback"):
        assert any(s.startswith(stage.strip()) for s in stages), (stage, stages)
    assert "build / raw scan = " in report
    assert "pandas / build = " in report and "pandas / showback path (" in report
    assert "refresh / one-month build (" in report
