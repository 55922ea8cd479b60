"""What `finops demo` prints and publishes for the people who read it (issue 16, cases 3 and 4).

One real demo run (the session fixture `demo` of conftest.py: a subprocess, as a user runs it,
on a small generated organisation in a fresh FINOPS_DATA_DIR) serves every test here:

* its output from start to the summary fits one screen (<= 40 lines), with one line per
  concern (the alerts, with their exact counts) and no Dagster warning about a dbt test that
  is not an asset check;
* the published DuckDB carries the dbt descriptions as table and column comments;
* the period-grained marts carry is_closed_period / is_latest_period;
* the dbt docs site is written beside the review pack and named in the summary.
"""

from __future__ import annotations

import json

import duckdb
import yaml

from orchestration.cli import default_demo_periods
from orchestration.settings import DBT_PROJECT_DIR

PERIOD_MARTS = ["rpt_showback_monthly", "fct_chargeback_ledger", "fct_finops_kpis_monthly",
                "fct_budget_forecast_monthly", "fct_unit_cost_monthly", "fct_commitments_monthly",
                "rpt_allocation_completeness", "rpt_maturity_scorecard"]


def test_demo_output_fits_one_screen(demo):
    _, completed = demo
    lines = (completed.stdout + completed.stderr).splitlines()
    assert len(lines) <= 40, "\n".join(lines)
    assert "Loaded 3 billing period(s)" in completed.stdout
    # one progress line per stage, ticked
    for stage in [f"landing billing period {p}" for p in default_demo_periods()] + [
            "dbt build: seeds (configuration) and their tests", "dbt build: models and their tests",
            "routing cost alerts", "publishing the marts for BI",
            "writing the review pack", "dbt docs (static site)"]:
        assert any(stage in line and "✓" in line for line in lines), (stage, completed.stdout)


def test_no_dagster_warning_about_dbt_tests_that_are_not_asset_checks(demo):
    _, completed = demo
    assert "singular test" not in completed.stderr
    assert "AssetObservation" not in completed.stderr
    assert "WARNING" not in completed.stderr, completed.stderr


def test_alerts_are_one_line_with_their_exact_counts(demo):
    data_dir, completed = demo
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        anomalies, anomaly_teams = con.execute(
            "select count(*), list(distinct team) from marts.fct_cost_anomalies_daily").fetchone()
        breaches, breach_teams = con.execute(
            "select count(*), list(distinct team) from marts.fct_budget_forecast_monthly "
            "where budget is not null and forecast_cost > budget").fetchone()
        hooks = con.execute("select count(webhook_url) from config.teams").fetchone()[0]
    assert hooks == 0  # the demo's teams seed configures no webhook
    new = anomalies + breaches
    teams = len(set(anomaly_teams or []) | set(breach_teams or []))
    assert new > 0 and teams > 0
    expected = (f"alerts: {new} new, 0 delivered — no webhook configured for {teams} team{'s' if teams > 1 else ''}; "
                "see docs/operations.md#alerting")
    assert expected in completed.stdout.splitlines(), completed.stdout
    assert "no webhook_url" not in completed.stdout + completed.stderr  # the per-alert detail stays in the logs
    assert "no webhook_url" in (data_dir / "logs" / "finops-build.log").read_text()


def _yml_descriptions(model: str) -> tuple[str, dict[str, str]]:
    for path in (DBT_PROJECT_DIR / "models" / "marts").rglob("*.yml"):
        for node in yaml.safe_load(path.read_text()).get("models", []):
            if node["name"] == model:
                return node["description"], {c["name"]: c.get("description") for c in node.get("columns", [])}
    raise AssertionError(f"{model} not in any yml")


def test_published_duckdb_carries_the_yml_descriptions_as_comments(demo):
    data_dir, _ = demo
    table_description, columns = _yml_descriptions("rpt_showback_monthly")
    with duckdb.connect(str(data_dir / "published" / "finops.duckdb"), read_only=True) as con:
        column_comment = con.execute(
            "select comment from duckdb_columns() where schema_name = 'marts' and table_name = 'rpt_showback_monthly' "
            "and column_name = 'team'").fetchone()[0]
        table_comment = con.execute(
            "select comment from duckdb_tables() where schema_name = 'marts' "
            "and table_name = 'rpt_showback_monthly'").fetchone()[0]
        # a view in the build file (over an incremental table) keeps its comments once copied as a table
        view_column = con.execute(
            "select comment from duckdb_columns() where schema_name = 'marts' "
            "and table_name = 'fct_commitments_monthly' and column_name = 'is_latest_period'").fetchone()[0]
    assert column_comment == columns["team"] == "Team, or 'unallocated'."
    assert table_comment == table_description  # as written (yml `>` folds the lines and keeps a final newline)
    assert view_column.startswith("True on the rows of the most recent billing period present in this mart")


def test_period_grained_marts_flag_closed_and_latest_periods(demo):
    data_dir, _ = demo
    periods = default_demo_periods()  # the three months before this one: all closed
    with duckdb.connect(str(data_dir / "published" / "finops.duckdb"), read_only=True) as con:
        for mart in PERIOD_MARTS:
            flags = con.execute(
                f"select strftime(billing_period, '%Y-%m'), bool_and(is_closed_period), bool_or(is_latest_period), "
                f"bool_and(is_latest_period) from marts.{mart} group by 1 order by 1").fetchall()
            assert [p for p, *_ in flags] == periods, mart
            assert all(closed for _, closed, _, _ in flags), mart
            latest = [(p, any_latest, all_latest) for p, _, any_latest, all_latest in flags]
            assert latest == [(p, p == periods[-1], p == periods[-1]) for p in periods], mart


def test_dbt_docs_are_published_beside_the_review_pack(demo):
    data_dir, completed = demo
    index = data_dir / "reports" / "dbt-docs" / "index.html"
    assert f"dbt docs:            {index}" in completed.stdout
    page = index.read_text()
    assert "rpt_showback_monthly" in page and "is_closed_period" in page
    assert list(index.parent.iterdir()) == [index]  # dbt's artifacts stayed in a temporary folder
    # generated once per project: a second build of the same project keeps the page
    from orchestration.dbt_docs import generate_docs, project_digest
    from orchestration.settings import DBT_PROJECT_DIR

    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    assert (index.parent.parent / ".dbt-docs.project-digest").read_text() == project_digest(manifest)
    assert generate_docs(data_dir, manifest) == (index, False)


def test_demo_runs_are_tagged_as_demo_and_the_summary_names_scripts_ui(demo):
    """Issue 16.5: the run history tells the demo's runs from production ones; 16.1: how to open it."""
    import dagster as dg

    data_dir, completed = demo
    with dg.DagsterInstance.from_config(str(data_dir / "dagster")) as instance:
        runs = [record.dagster_run for record in instance.get_run_records()]
    assert sorted(run.job_name for run in runs) == ["build_warehouse"] + ["load_billing_period"] * 3
    assert {run.tags.get("finops/run_kind") for run in runs} == {"demo"}
    assert (f"Dagster UI:          FINOPS_DATA_DIR={data_dir} scripts/ui   (http://127.0.0.1:3000; or "
            f"DAGSTER_HOME={data_dir / 'dagster'} FINOPS_DATA_DIR={data_dir} "
            ".venv/bin/dagster dev -m orchestration.definitions)") in completed.stdout.splitlines()


def test_every_singular_dbt_test_is_an_asset_check():
    """dagster-dbt maps a singular test to a check when it refs one node or names one in meta.dagster.ref."""
    from dagster_dbt import DagsterDbtTranslator
    from dagster_dbt.asset_utils import get_asset_check_key_for_test

    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    singular = [uid for uid, node in manifest["nodes"].items()
                if node["resource_type"] == "test" and not node.get("attached_node")]
    assert len(singular) == len(list((DBT_PROJECT_DIR / "tests").glob("[!g]*/*.sql")))
    unmapped = [uid for uid in singular
                if get_asset_check_key_for_test(manifest, DagsterDbtTranslator(), uid, None) is None]
    assert unmapped == []


def test_alert_summary_line_counts_failed_webhooks_and_unrouted_teams():
    from orchestration.alerts import Alert, Delivery, RoutingReport, summary_line

    def alert(team: str, n: int, hook: str | None) -> Alert:
        return Alert(alert_id=f"anomaly:2026-10-0{n}:{team}:EC2", kind="anomaly", team=team, service_name="EC2",
                     when=f"2026-10-0{n}", actual_cost=100.0, expected_cost=10.0, severity="high",
                     webhook_url=hook, asset_url="http://127.0.0.1:3000/assets/marts/fct_cost_anomalies_daily")

    report = RoutingReport([
        Delivery(alert("payments", 1, "http://hooks.example/p"), "sent", attempts=1),
        Delivery(alert("payments", 2, "http://hooks.example/p"), "already_sent"),
        Delivery(alert("search", 3, "http://hooks.example/s"), "failed", attempts=4, error="HTTPError: 500"),
        Delivery(alert("search", 4, "http://hooks.example/s"), "failed", attempts=4, error="HTTPError: 500"),
        Delivery(alert("ml", 5, None), "no_channel", error="team ml has no webhook_url"),
    ], missing_tables=[])
    assert summary_line(report) == ("alerts: 4 new, 1 delivered — no webhook configured for 1 team; "
                                    "2 failed after retries (webhook of 1 team); see docs/operations.md#alerting")
    assert summary_line(RoutingReport(report.deliveries[:2], [])) == "alerts: 1 new, 1 delivered"
