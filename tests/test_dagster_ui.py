"""The UI the data team watches: dagster-webserver on the project's definitions, asserted through GraphQL."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import _free_port

QUERY = """
{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes { name schedules { name cronSchedule } sensors { name } }
    }
  }
  assetNodes {
    assetKey { path }
    groupName
    isPartitioned
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
}
"""


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    """dagster-webserver (no daemon) on a free loopback port; stopped with SIGINT like Ctrl-C."""
    home = tmp_path_factory.mktemp("dagster-home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = _free_port()
    env = dict(os.environ, DAGSTER_HOME=str(home), FINOPS_DATA_DIR=str(tmp_path_factory.mktemp("ui-data")))
    webserver = Path(sys.executable).with_name("dagster-webserver")
    proc = subprocess.Popen([str(webserver), "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)],
                            env=env, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"dagster-webserver did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.5)
    yield url
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body.get("errors")
    return body["data"]


def test_the_ui_shows_asset_groups_checks_partitions_schedules_and_sensors(webserver):
    data = graphql(webserver, QUERY)
    [repository] = data["repositoriesOrError"]["nodes"]
    assert {s["name"]: s["cronSchedule"] for s in repository["schedules"]} == {
        "daily_restatement": "0 6 * * *", "monthly_close": "0 7 8 * *"}
    assert {s["name"] for s in repository["sensors"]} >= {"export_deliveries", "warehouse_after_landing"}

    assets = {"/".join(node["assetKey"]["path"]): node for node in data["assetNodes"]}
    groups = {node["groupName"] for node in assets.values()}
    assert {"landing", "config", "staging", "intermediate", "marts", "alerts"} <= groups
    assert assets["landing/cur2"]["isPartitioned"]
    assert assets["alerts/cost_alerts"]["groupName"] == "alerts"

    def checks_of(key):
        return {c["name"] for c in assets[key]["assetChecksOrError"]["checks"]}

    for fmt in ("cur2", "cur_legacy", "focus"):
        assert "landing_profile_expectations" in checks_of(f"landing/{fmt}")
    assert {"allocation_completeness", "untagged_spend_within_target"} <= checks_of("marts/fct_cost_allocated_daily")
    assert "all_alerts_delivered" in checks_of("alerts/cost_alerts")
