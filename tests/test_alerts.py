"""Alert routing against a local webhook server and a small hand-made warehouse."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from orchestration.alerts import route_alerts

DAGSTER_URL = "http://dagster.example:3000"


class Webhook:
    """An http.server on 127.0.0.1 that records POSTs and answers with a configurable status."""

    def __init__(self):
        self.calls: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.calls.append({"path": self.path, "payload": json.loads(body)})
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok" if hook.status == 200 else b"boom")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def make_warehouse(path, webhook_url: str, *, budget_breach: bool = False) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create schema config")
        con.execute("""create table config.teams as select * from (values
            ('payments', 'Payments', '#payments-cost', 'showback', ?),
            ('search', 'Search', '#search-cost', 'showback', null)) t(team, owner, alert_channel, accountability, webhook_url)""",
                    [f"{webhook_url}/hooks/payments"])
        con.execute("""create table marts.fct_cost_anomalies_daily as select * from (values
            (date '2026-05-14', 'payments', 'Amazon Elastic Compute Cloud', 412.5, 120.0, 80.0, 160.0, 5.2, 'high',
             'alice@example.com', '#payments-cost')) t(charge_date, team, service_name, actual_cost, expected_cost,
             lower_bound, upper_bound, score, severity, owner, alert_channel)""")
        con.execute("""create table marts.fct_budget_forecast_monthly as select * from (values
            (date '2026-05-01', 'payments', 1000.0, 1200.0, 1000.0, ?::double, ?::boolean, ?::double)) t(billing_period,
             team, month_to_date_cost, forecast_cost, forecast_low, budget, is_over_budget, projected_variance)""",
                    [1100.0 if budget_breach else 5000.0, budget_breach, 100.0 if budget_breach else -3800.0])


def test_one_anomaly_makes_one_webhook_call_naming_team_service_costs_and_the_asset(tmp_path, webhook):
    make_warehouse(tmp_path / "w.duckdb", webhook.url)
    report = route_alerts(tmp_path / "w.duckdb", tmp_path / "alerts", dagster_url=DAGSTER_URL, backoff_s=0)
    assert [d.status for d in report.deliveries] == ["sent"]
    assert len(webhook.calls) == 1
    call = webhook.calls[0]
    assert call["path"] == "/hooks/payments"
    text = call["payload"]["text"]
    assert "payments" in text and "Amazon Elastic Compute Cloud" in text
    assert "actual 412.50 vs expected 120.00" in text
    assert f"{DAGSTER_URL}/assets/marts/fct_cost_anomalies_daily" in text
    assert call["payload"]["blocks"][0]["type"] == "header"


def test_a_second_run_sends_nothing_again(tmp_path, webhook):
    make_warehouse(tmp_path / "w.duckdb", webhook.url)
    route_alerts(tmp_path / "w.duckdb", tmp_path / "alerts", dagster_url=DAGSTER_URL, backoff_s=0)
    again = route_alerts(tmp_path / "w.duckdb", tmp_path / "alerts", dagster_url=DAGSTER_URL, backoff_s=0)
    assert [d.status for d in again.deliveries] == ["already_sent"]
    assert len(webhook.calls) == 1


def test_a_budget_breach_goes_to_the_team_with_forecast_against_budget(tmp_path, webhook):
    make_warehouse(tmp_path / "w.duckdb", webhook.url, budget_breach=True)
    route_alerts(tmp_path / "w.duckdb", tmp_path / "alerts", dagster_url=DAGSTER_URL, backoff_s=0)
    texts = [c["payload"]["text"] for c in webhook.calls]
    assert len(texts) == 2
    assert any("Budget breach" in t and "actual 1,200.00 vs budget 1,100.00" in t for t in texts)


def test_a_failing_webhook_is_retried_then_reported_and_tried_again_next_run(tmp_path, webhook):
    make_warehouse(tmp_path / "w.duckdb", webhook.url)
    webhook.status = 500
    report = route_alerts(tmp_path / "w.duckdb", tmp_path / "alerts", dagster_url=DAGSTER_URL, attempts=3,
                          backoff_s=0.01)
    [delivery] = report.deliveries
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert "500" in delivery.error
    assert len(webhook.calls) == 3
    assert report.undelivered == [delivery]

    webhook.status = 200  # not in the ledger: the next run delivers it
    retry = route_alerts(tmp_path / "w.duckdb", tmp_path / "alerts", dagster_url=DAGSTER_URL, backoff_s=0)
    assert [d.status for d in retry.deliveries] == ["sent"]
    assert len(webhook.calls) == 4


def test_a_team_without_webhook_is_reported_not_dropped(tmp_path, webhook):
    make_warehouse(tmp_path / "w.duckdb", webhook.url)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("update marts.fct_cost_anomalies_daily set team = 'search'")
    report = route_alerts(tmp_path / "w.duckdb", tmp_path / "alerts", dagster_url=DAGSTER_URL, backoff_s=0)
    assert [d.status for d in report.deliveries] == ["no_channel"]
    assert webhook.calls == []


def test_marts_not_built_yet_mean_no_alerts(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")):
        pass
    report = route_alerts(tmp_path / "w.duckdb", tmp_path / "alerts", dagster_url=DAGSTER_URL)
    assert report.deliveries == [] and "marts.fct_cost_anomalies_daily" in report.missing_tables


def test_the_alerts_asset_reports_undelivered_alerts_in_a_check(tmp_path, webhook, monkeypatch):
    import dagster as dg

    from orchestration.alerts import build_alerts_asset
    from orchestration.definitions import FinopsSettings

    make_warehouse(tmp_path / "warehouse.duckdb", webhook.url)
    webhook.status = 500
    monkeypatch.setenv("FINOPS_ALERT_ATTEMPTS", "2")
    finops = FinopsSettings(export_uri=str(tmp_path), data_dir=str(tmp_path), duckdb_threads=1,
                            duckdb_memory_limit="1GB")
    result = dg.materialize([build_alerts_asset()], resources={"finops": finops}, raise_on_error=False)
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "anomaly:2026-05-14:payments:Amazon Elastic Compute Cloud" in evaluation.description
    [materialization] = result.get_asset_materialization_events()
    assert materialization.materialization.metadata["failed"].value == 1
    assert len(webhook.calls) == 2


def test_team_and_service_text_is_escaped_for_slack_but_the_links_still_work(tmp_path, webhook):
    """Issue 15.12: a team or service named like Slack markup reaches Slack as text, not as markup."""
    make_warehouse(tmp_path / "w.duckdb", webhook.url)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("update config.teams set team = 'pay<b>&ments' where team = 'payments'")
        con.execute("update marts.fct_cost_anomalies_daily set team = 'pay<b>&ments', "
                    "service_name = 'EC2 <!channel> <http://evil.example|click> &'")

    report = route_alerts(tmp_path / "w.duckdb", tmp_path / "alerts", dagster_url=DAGSTER_URL, backoff_s=0)

    assert [d.status for d in report.deliveries] == ["sent"]
    payload = webhook.calls[0]["payload"]
    text = payload["text"]
    assert "pay&lt;b&gt;&amp;ments" in text
    assert "EC2 &lt;!channel&gt; &lt;http://evil.example|click&gt; &amp;" in text
    assert "<b>" not in text and "<!channel>" not in text and "<http://evil" not in text
    # the links the code builds itself are still Slack links
    link = f"<{DAGSTER_URL}/assets/marts/fct_cost_anomalies_daily|open in Dagster>"
    assert text.endswith(link)
    mrkdwn = [f["text"] for f in payload["blocks"][1]["fields"]] + [payload["blocks"][2]["text"]["text"]]
    assert "*Team:* pay&lt;b&gt;&amp;ments" in mrkdwn
    assert "*Service:* EC2 &lt;!channel&gt; &lt;http://evil.example|click&gt; &amp;" in mrkdwn
    assert mrkdwn[-1] == f"<{DAGSTER_URL}/assets/marts/fct_cost_anomalies_daily|View the asset in Dagster>"
    # the header is plain_text, which Slack shows literally: not escaped (it would read "&lt;")
    assert payload["blocks"][0]["text"]["type"] == "plain_text"
    assert "pay<b>&ments" in payload["blocks"][0]["text"]["text"]
