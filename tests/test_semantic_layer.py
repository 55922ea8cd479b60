"""One number per measure (issue 18): every KPI three ways — MetricFlow's `mf query`, the KPI
mart, the value the review pack prints — on a hand-checked fixture and on the demo; tag
coverage on taggable spend only; "breached (3 teams)"; the untagged list without shared pools
or negative rows; enforced mart contracts.

The hand-checked organisation (one closed month, 2024-01, one payer, five teams):

    usage tagged  alpha 120, bravo 60, charlie 30, delta 40, echo 20   = 270
    usage without a team tag                                             45
    tax 10, support fee 20, a domain fee 12, a credit -15   (not taggable) 27
    budgets       alpha 100, bravo 50, charlie 10 (all three over), delta 100, echo 100

    untagged_cost_pct = 100 × 45 / 315, tag_coverage_pct = 100 × 270 / 315,
    allocation_coverage_pct = 100 × 270 / 342, teams over budget = 3.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.ingestion.landing import load_exports
from orchestration.publish import publish_marts
from orchestration.reports.review_pack import write_review_pack
from orchestration.settings import DBT_PROJECT_DIR
from tests.export_builders import cur2_row, write_data_export

REPO = Path(__file__).resolve().parents[1]
PERIOD = "2024-01"
ACCOUNT, PAYER = "222233334444", "111122223333"
BUDGETS = {"alpha": 100, "bravo": 50, "charlie": 10, "delta": 100, "echo": 100}
TAGGED = {"alpha": 120.0, "bravo": 60.0, "charlie": 30.0, "delta": 40.0, "echo": 20.0}
UNTAGGED = 45.0
NOT_TAGGABLE = {"Tax": 10.0, "Fee (support)": 20.0, "Fee (domain)": 12.0, "Credit": -15.0}
# Metrics whose value is 0, not missing, where MetricFlow returns no row (fill_nulls_with: 0)
COUNTS = {"anomaly_count", "teams_over_budget", "open_opportunity_value", "realized_savings"}


def hand_rows() -> list[dict]:
    day = f"{PERIOD}-31 10:00:00"  # the last day: the month is complete, so forecast = actual
    rows = [cur2_row(f"t-{team}", cost, account=ACCOUNT, payer=PAYER, start=day, tags={"user_team": team})
            for team, cost in TAGGED.items()]
    rows += [
        cur2_row("u-1", UNTAGGED, account=ACCOUNT, payer=PAYER, start=day),
        cur2_row("x-tax", 10.0, line_item_type="Tax", account=ACCOUNT, payer=PAYER, start=day),
        cur2_row("x-support", 20.0, line_item_type="Fee", product="AWSSupportBusiness", account=ACCOUNT,
                 payer=PAYER, start=day),
        cur2_row("x-domain", 12.0, line_item_type="Fee", product="AmazonRoute53", account=ACCOUNT, payer=PAYER,
                 start=day),
        cur2_row("x-credit", -15.0, line_item_type="Credit", account=ACCOUNT, payer=PAYER, start=day),
    ]
    return rows


def _write_seed(path: Path, rows: list[dict]) -> None:
    with open(path, newline="") as handle:
        fields = next(csv.reader(handle))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def run_dbt(project: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FINOPS_DATA_DIR": str(data_dir), "FINOPS_DUCKDB_THREADS": "2",
           "FINOPS_DUCKDB_MEMORY_LIMIT": "2GB"}
    env.pop("DBT_TARGET_PATH", None)  # mf reads <project>/target/semantic_manifest.json
    return subprocess.run([str(Path(sys.executable).with_name("dbt")), "--no-use-colors", *args,
                           "--profiles-dir", ".", "--project-dir", "."],
                          cwd=project, env=env, capture_output=True, text=True)


def copy_project(target: Path) -> Path:
    shutil.copytree(DBT_PROJECT_DIR, target, ignore=shutil.ignore_patterns("target*", "logs", "dbt_packages"))
    return target


@pytest.fixture(scope="module")
def hand_built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("semantic")
    project = copy_project(tmp / "dbt_project")
    seeds = project / "seeds"
    _write_seed(seeds / "teams.csv", [{"team": t, "owner": f"{t}@example.com", "accountability": "showback",
                                       "cost_center": f"CC-{t}"}
                                      for t in BUDGETS])
    _write_seed(seeds / "budgets.csv", [{"team": t, "billing_period": "", "budget_amount": b, "billing_currency": "USD"}
                                        for t, b in BUDGETS.items()])
    for seed in ("account_owners", "allocation_rules", "shared_cost_rules", "shared_cost_weights", "unit_metrics"):
        _write_seed(seeds / f"{seed}.csv", [])
    exports, data_dir = tmp / "exports", tmp / "data"
    write_data_export(exports, "cur2", PERIOD, {"part-1.parquet": hand_rows()}, execution_id="e-1", payer=PAYER)
    load_exports(str(exports), data_dir / "landing")
    built = run_dbt(project, data_dir, "build", "--exclude-resource-type", "unit_test")
    assert built.returncode == 0, built.stdout[-4000:]
    publish_marts(data_dir / "warehouse.duckdb", data_dir)
    pack = write_review_pack(data_dir, PERIOD)
    return project, data_dir, pack.path.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------
# The three ways
# ------------------------------------------------------------------------------------------------

def metric_entities(project: Path) -> dict[str, str]:
    """metric name -> the primary entity of the semantic model its measures come from."""
    manifest = json.loads((project / "target" / "semantic_manifest.json").read_text())
    entity_of_measure = {measure["name"]: model["primary_entity"]
                         for model in manifest["semantic_models"] for measure in model["measures"]}
    entities = {}
    for metric in manifest["metrics"]:
        measures = {m["name"] for m in metric["type_params"]["input_measures"]}
        (entity,) = {entity_of_measure[m] for m in measures}  # every KPI reads one semantic model
        entities[metric["name"]] = entity
    return entities


def mf_values(project: Path, data_dir: Path, metrics: list[str], tmp_path: Path) -> dict[tuple[str, str, str], float]:
    """(period YYYY-MM, currency, metric) -> value, as `mf query` answers, grouped by month and currency."""
    entities = metric_entities(project)
    values = {}
    for entity in sorted({entities[m] for m in metrics}):
        asked = [m for m in metrics if entities[m] == entity]
        out = tmp_path / f"mf-{entity}.csv"
        env = {**os.environ, "FINOPS_DATA_DIR": str(data_dir), "DBT_PROFILES_DIR": str(project)}
        done = subprocess.run([str(Path(sys.executable).with_name("mf")), "query", "--metrics", ",".join(asked),
                               "--group-by", f"metric_time__month,{entity}__billing_currency", "--csv", str(out)],
                              cwd=project, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        if not out.exists():  # mf writes no file for an empty result (no anomaly in the fixture)
            continue
        with open(out, newline="") as handle:
            for row in csv.DictReader(handle):
                for metric in asked:
                    if row[metric] not in ("", None):
                        values[(row["metric_time__month"][:7], row[f"{entity}__billing_currency"], metric)] = \
                            float(row[metric])
    return values


def mart_kpis(data_dir: Path) -> dict[tuple[str, str, str], tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("""select strftime(billing_period, '%Y-%m'), billing_currency, kpi_name, value, numerator,
                                     denominator, status, status_label
                              from marts.fct_finops_kpis_monthly""").fetchall()
    return {(p, c, k): (v, n, d, s, label) for p, c, k, v, n, d, s, label in rows}


def pack_kpis(html: str) -> dict[str, float | None]:
    """The KPI table of a review pack: kpi name -> the value it prints (data-value, full precision)."""
    found = re.findall(r'<tr data-kpi="(\w+)"><td>\w+</td><td data-value="([^"]*)">', html)
    return {name: (float(value) if value else None) for name, value in found}


def assert_three_ways_agree(project: Path, data_dir: Path, html: str, period: str, tmp_path: Path) -> dict:
    mart = mart_kpis(data_dir)
    kpi_names = sorted({k for (_, _, k) in mart})
    parts = kpi_parts(project, kpi_names)
    numerator_metrics = sorted({m for k in kpi_names for m in parts[k] if m})
    mf = mf_values(project, data_dir, kpi_names + numerator_metrics, tmp_path)
    pack = pack_kpis(html)
    assert set(pack) == set(kpi_names)
    checked = {}
    for (p, currency, kpi), (value, numerator, denominator, _, _) in mart.items():
        asked = mf.get((p, currency, kpi), 0.0 if kpi in COUNTS else None)
        if value is None:
            assert asked is None, (p, kpi)
        else:
            assert asked == pytest.approx(value, rel=1e-9, abs=1e-9), (p, currency, kpi)
        for metric, money in zip(parts[kpi], (numerator, denominator)):
            if metric:  # a share's parts are money: equal to the cent (or absent from both)
                asked = mf.get((p, currency, metric))
                if money is None:
                    assert asked is None, (p, kpi, metric)
                else:
                    assert asked == pytest.approx(money, abs=0.005), (p, kpi, metric)
        if p == period:
            if value is None:
                assert pack[kpi] is None, kpi
            else:
                assert pack[kpi] == pytest.approx(value, rel=1e-9, abs=1e-9), kpi
            checked[kpi] = value
    return checked


def kpi_parts(project: Path, kpis: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """kpi -> the metrics its share is made of (numerator, denominator), from the manifest, read once."""
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    parts = {}
    for kpi in kpis:
        metric = manifest["metrics"][f"metric.finops.{kpi}"]
        spec = (metric.get("config", {}).get("meta") or metric.get("meta") or {}).get("kpi") or {}
        parts[kpi] = (spec.get("numerator"), spec.get("denominator"))
    return parts


def test_every_kpi_is_the_same_number_in_metricflow_the_mart_and_the_pack_on_the_fixture(hand_built, tmp_path):
    project, data_dir, html = hand_built
    values = assert_three_ways_agree(project, data_dir, html, PERIOD, tmp_path)
    assert values["untagged_cost_pct"] == pytest.approx(100 * 45 / 315, rel=1e-12)
    assert values["tag_coverage_pct"] == pytest.approx(100 * 270 / 315, rel=1e-12)
    assert values["allocation_coverage_pct"] == pytest.approx(100 * 270 / 342, rel=1e-12)
    assert values["budget_variance_pct"] == pytest.approx(100 * (270 - 360) / 360, rel=1e-12)
    assert values["teams_over_budget"] == 3


def test_tax_support_fees_and_credits_are_in_neither_side_of_tag_coverage(hand_built):
    _, data_dir, _ = hand_built
    mart = mart_kpis(data_dir)
    _, numerator, denominator, _, _ = mart[(PERIOD, "USD", "untagged_cost_pct")]
    assert (round(numerator, 2), round(denominator, 2)) == (45.0, 315.0)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        by_status = dict(con.execute("""select tag_status, round(sum(effective_cost), 2)
                                        from marts.fct_tag_coverage_monthly group by tag_status""").fetchall())
        categories = dict(con.execute("""select charge_category, round(sum(effective_cost), 2)
                                         from marts.fct_tag_coverage_monthly where tag_status = 'not_taggable'
                                         group by charge_category""").fetchall())
    assert by_status == {"tagged": 270.0, "untagged": 45.0, "not_taggable": 27.0}
    assert categories == {"Tax": 10.0, "Purchase": 32.0, "Credit": -15.0}


def test_three_of_five_teams_over_budget_is_breached_with_the_count(hand_built):
    _, data_dir, html = hand_built
    mart = mart_kpis(data_dir)
    for kpi in ("budget_variance_pct", "teams_over_budget"):
        # the total is 25 % under budget, but three teams are over theirs
        assert mart[(PERIOD, "USD", kpi)][3:] == ("breach", "breached (3 teams)"), kpi
    assert re.search(r'data-kpi="teams_over_budget">breached \(3 teams\)</div>', html)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        over = con.execute("select list(team order by team) from marts.fct_budget_forecast_monthly "
                           "where is_over_budget").fetchone()[0]
    assert over == ["alpha", "bravo", "charlie"]


def test_kpi_values_are_double_not_float(hand_built):
    _, data_dir, _ = hand_built
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        types = dict(con.execute("""select column_name, data_type from information_schema.columns
                                    where table_schema = 'marts' and table_name = 'fct_finops_kpis_monthly'
                                      and column_name in ('value', 'numerator', 'denominator', 'target')""").fetchall())
    assert types == {"value": "DOUBLE", "numerator": "DOUBLE", "denominator": "DOUBLE", "target": "DOUBLE"}


def test_a_mart_whose_column_type_breaks_its_contract_fails_the_build(hand_built, tmp_path):
    project, _, _ = hand_built
    broken = copy_project(tmp_path / "dbt_project")
    model = broken / "models" / "marts" / "allocation" / "dim_teams.sql"
    model.write_text(model.read_text().replace("        owner,\n", "        length(owner) as owner,\n", 1))
    (tmp_path / "data").mkdir()
    done = run_dbt(broken, tmp_path / "data", "build", "--select", "teams", "dim_teams",
                   "--exclude-resource-type", "unit_test")
    assert done.returncode == 1
    assert "This model has an enforced contract that failed." in done.stdout
    assert re.search(r"\| owner\s+\| BIGINT\s+\| VARCHAR\s+\| data type mismatch", done.stdout), done.stdout[-3000:]


# ------------------------------------------------------------------------------------------------
# On the demo
# ------------------------------------------------------------------------------------------------

def test_every_kpi_is_the_same_number_three_ways_on_the_demo(demo, tmp_path):
    data_dir, _ = demo
    pack = sorted((data_dir / "reports").glob("finops-review-*.html"))[-1]
    period = re.search(r"finops-review-(\d{4}-\d{2})", pack.name).group(1)
    values = assert_three_ways_agree(DBT_PROJECT_DIR, data_dir, pack.read_text(encoding="utf-8"), period, tmp_path)
    assert {"untagged_cost_pct", "tag_coverage_pct", "shared_cost_pct", "allocation_coverage_pct",
            "commitment_coverage_pct", "commitment_utilization_pct", "effective_savings_rate_pct",
            "budget_variance_pct", "teams_over_budget", "forecast_accuracy_pct", "anomaly_count",
            "unit_cost_change_pct"} <= set(values)


def test_the_untagged_list_on_the_demo_has_no_shared_pool_account_and_no_negative_row(demo):
    data_dir, _ = demo
    pack = sorted((data_dir / "reports").glob("finops-review-*.html"))[-1]
    html = pack.read_text(encoding="utf-8")
    section = html[html.index('<section id="untagged">'):]
    section = section[:section.index("</section>")]
    listed = re.findall(r"<tr><td>(\d{12})</td>.*?<td><b>(-?[\d,]+\.\d\d)</b></td>", section, re.S)
    assert listed, section[:2000]
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        shared_only = {r[0] for r in con.execute("""
            select sub_account_id from marts.fct_tag_coverage_monthly group by sub_account_id
            having bool_and(is_shared_by_design or tag_status = 'not_taggable')""").fetchall()}
    assert shared_only, "the demo has accounts split as shared by design"
    assert not {account for account, _ in listed} & shared_only
    assert all(float(cost.replace(",", "")) > 0 for _, cost in listed)
