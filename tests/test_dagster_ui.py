"""The UI the data team watches, started as a user starts it and asserted through GraphQL (issue 16, 1 and 5).

The README's `dagster dev` command is run exactly as the README prints it (parsed from README.md),
and `scripts/ui` as it is, each in its own process group with a fresh DAGSTER_HOME and a PATH
without the venv's bin folder (the venv is not activated), on a free loopback port; the tests
wait until the code location has loaded, ask the webserver over HTTP, then stop the whole
process group with SIGINT, as Ctrl-C in a terminal does.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import billing_periods
from orchestration.sample_data import write_sample_exports
from orchestration.settings import Settings, first_partition
from tests.conftest import _free_port

REPO = Path(__file__).resolve().parents[1]
# No venv bin folder: the commands must work without `source .venv/bin/activate`.
BARE_PATH = "/usr/bin:/bin"
# Landed billing periods in the UI's data dir: the partitions start at the earliest (16.5).
LANDED = [("cur2", "2025-11"), ("focus", "2026-01")]

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

LOCATIONS = """
{
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""

PARTITIONS = """
{
  assetNodeOrError(assetKey: {path: ["landing", "cur2"]}) { ... on AssetNode { partitionKeys } }
}
"""


def readme_ui_command() -> str:
    """The `dagster dev` line of the README's "The Dagster UI" section, as printed (its comment cut off)."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## The Dagster UI\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for block in re.findall(r"```bash\n(.*?)```", section, re.S) for line in block.splitlines()
             if "dagster dev" in line]
    assert len(lines) == 1, f"expected one `dagster dev` command in the README's UI section, found {lines}"
    return lines[0].split("#", 1)[0].strip()


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body.get("errors")
    return body["data"]


def _sigint_default():
    # A shell's background job starts with SIGINT ignored, and an ignored signal stays ignored
    # across exec: then Python installs no KeyboardInterrupt handler and Ctrl-C would do nothing.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def running_ui(command: str, env: dict[str, str], log: Path, startup_s: float = 300):
    """Run ``command --host 127.0.0.1 --port <free port>`` (bash, from the repository root) in a new
    process group; yield the UI's URL once its code location has loaded; then stop the group."""
    port = _free_port()
    with open(log, "w") as output:
        proc = subprocess.Popen(["bash", "-c", f"exec {command} --host 127.0.0.1 --port {port}"], cwd=REPO,
                                env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_sigint_default)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`{command}` exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                [entry] = graphql(url, LOCATIONS)["workspaceOrError"]["locationEntries"]
            except OSError:
                entry = None  # not listening yet
            if entry and entry["loadStatus"] == "LOADED":
                loaded = entry["locationOrLoadError"]
                assert loaded["__typename"] == "RepositoryLocation", \
                    f"the code location did not load: {loaded.get('message')}"
                break
            if time.monotonic() > deadline:
                pytest.fail(f"`{command}` did not serve the code location:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield url
    finally:
        stop_process_group(proc)


def stop_process_group(proc: subprocess.Popen) -> None:
    """SIGINT to the group (Ctrl-C): `dagster dev` stops its webserver, daemon and code servers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail("`dagster dev` did not stop on SIGINT")
    # nothing of the group is left behind (a code server or webserver would keep the port)
    deadline = time.monotonic() + 30
    while True:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("processes of `dagster dev` were left running after SIGINT")
        time.sleep(0.5)


def fresh_env(tmp: Path) -> dict[str, str]:
    """A user's shell: no activated venv, a DAGSTER_HOME nobody used, a data dir with two landed months."""
    data_dir, home = tmp / "data", tmp / "dagster-home"
    for fmt, period in LANDED:
        (data_dir / "landing" / fmt / f"billing_period={period}").mkdir(parents=True)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("FINOPS_", "DAGSTER_", "VIRTUAL_ENV", "PYTHON"))}
    return {**env, "PATH": BARE_PATH, "DAGSTER_HOME": str(home), "FINOPS_DATA_DIR": str(data_dir)}


@pytest.fixture(scope="module")
def readme_ui(tmp_path_factory):
    """The README's UI command, as printed, in a fresh DAGSTER_HOME."""
    tmp = tmp_path_factory.mktemp("readme-ui")
    env = fresh_env(tmp)
    home = Path(env["DAGSTER_HOME"])
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with running_ui(readme_ui_command(), env, tmp / "dagster-dev.log") as url:
        yield url


def test_the_readme_command_is_dagster_dev_on_the_project_definitions():
    assert readme_ui_command() == ".venv/bin/dagster dev -m orchestration.definitions"


def test_the_ui_shows_asset_groups_checks_partitions_schedules_and_sensors(readme_ui):
    data = graphql(readme_ui, QUERY)
    [repository] = data["repositoriesOrError"]["nodes"]
    assert {s["name"]: s["cronSchedule"] for s in repository["schedules"]} == {
        "daily_restatement": "0 6 * * *", "monthly_close": "0 7 8 * *"}
    assert {s["name"] for s in repository["sensors"]} >= {"export_deliveries", "warehouse_after_landing"}

    assets = {"/".join(node["assetKey"]["path"]): node for node in data["assetNodes"]}
    assert {"landing/cur2", "landing/cur_legacy", "landing/focus", "staging/stg_aws_cur__cur2_line_items",
            "marts/fct_cost_allocated_daily", "marts/rpt_showback_monthly", "alerts/cost_alerts",
            "published_warehouse", "monthly_review_pack", "dbt_docs"} <= set(assets)
    groups = {node["groupName"] for node in assets.values()}
    assert {"landing", "config", "staging", "intermediate", "marts", "alerts", "publish"} <= groups
    assert assets["landing/cur2"]["isPartitioned"]
    assert assets["alerts/cost_alerts"]["groupName"] == "alerts"

    def checks_of(key):
        return {c["name"] for c in assets[key]["assetChecksOrError"]["checks"]}

    for fmt in ("cur2", "cur_legacy", "focus"):
        assert "landing_profile_expectations" in checks_of(f"landing/{fmt}")
    # Great Expectations suites and dbt tests (generic and singular) alike
    assert {"allocation_completeness", "untagged_spend_within_target",
            "fct_cost_allocated_daily_design_grain_is_unique",
            "assert_allocated_cost_equals_counted_line_items_per_period"} <= checks_of("marts/fct_cost_allocated_daily")
    assert "all_alerts_delivered" in checks_of("alerts/cost_alerts")


def test_the_ui_partitions_start_at_the_earliest_landed_period(readme_ui):
    keys = graphql(readme_ui, PARTITIONS)["assetNodeOrError"]["partitionKeys"]
    assert keys[:3] == ["2025-11", "2025-12", "2026-01"]


def test_scripts_ui_starts_the_ui_on_the_data_dir(tmp_path):
    env = fresh_env(tmp_path)
    with running_ui("scripts/ui", env, tmp_path / "scripts-ui.log") as url:
        data = graphql(url, QUERY)
        assets = {"/".join(node["assetKey"]["path"]) for node in data["assetNodes"]}
        assert {"landing/cur2", "marts/fct_cost_allocated_daily", "published_warehouse"} <= assets
        assert graphql(url, PARTITIONS)["assetNodeOrError"]["partitionKeys"][0] == "2025-11"
    # the instance settings `finops build` uses, written into the DAGSTER_HOME it made
    instance_config = (Path(env["DAGSTER_HOME"]) / "dagster.yaml").read_text()
    assert "telemetry:\n  enabled: false\n" in instance_config and "run_monitoring:" in instance_config


# ----------------------------------------------------------------------------------------------
# 16.5 the first partition comes from the data; FINOPS_FIRST_BILLING_PERIOD overrides it
# ----------------------------------------------------------------------------------------------

TODAY = date(2026, 12, 4)


def settings_for(data_dir: Path, monkeypatch, export_uri: Path | None = None) -> Settings:
    monkeypatch.setenv("FINOPS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FINOPS_EXPORT_URI", str(export_uri or data_dir / "no-exports-here"))
    monkeypatch.delenv("FINOPS_FIRST_BILLING_PERIOD", raising=False)
    monkeypatch.delenv("FINOPS_RESTATEMENT_MONTHS", raising=False)
    return Settings.from_env()


def test_partitions_start_at_the_earliest_landed_period(tmp_path, monkeypatch):
    for fmt, period in LANDED:
        (tmp_path / "data" / "landing" / fmt / f"billing_period={period}").mkdir(parents=True)
    settings = settings_for(tmp_path / "data", monkeypatch)
    first = first_partition(settings, today=TODAY)
    assert first == "2025-11"
    keys = billing_periods(first).get_partition_keys()
    assert keys[:3] == ["2025-11", "2025-12", "2026-01"] and len(keys) == 14  # up to the current month


def test_the_setting_overrides_the_data(tmp_path, monkeypatch):
    for fmt, period in LANDED:
        (tmp_path / "data" / "landing" / fmt / f"billing_period={period}").mkdir(parents=True)
    settings_for(tmp_path / "data", monkeypatch)
    monkeypatch.setenv("FINOPS_FIRST_BILLING_PERIOD", "2026-03")
    assert first_partition(Settings.from_env(), today=TODAY) == "2026-03"


def test_with_nothing_landed_the_earliest_period_of_a_local_export_folder(tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    write_sample_exports(exports, periods=["2024-05", "2024-06"], rows_per_period=200, seed=3,
                         layout={"payer-a": "cur2"})
    settings = settings_for(tmp_path / "data", monkeypatch, exports)
    assert first_partition(settings, today=TODAY) == "2024-05"


def test_with_no_data_the_last_twelve_months(tmp_path, monkeypatch):
    settings = settings_for(tmp_path / "data", monkeypatch)
    assert first_partition(settings, today=TODAY) == "2025-12"
    # never later than the months the daily schedule restates
    (tmp_path / "data" / "landing" / "cur2" / "billing_period=2026-12").mkdir(parents=True)
    assert first_partition(settings, today=TODAY) == "2026-11"
    monkeypatch.setenv("FINOPS_RESTATEMENT_MONTHS", "4")
    assert first_partition(Settings.from_env(), today=TODAY) == "2026-09"


def test_a_build_of_an_earlier_period_gets_partitions_reaching_it():
    from orchestration.definitions import BILLING_PERIODS, defs, definitions_for

    assert definitions_for([BILLING_PERIODS.get_first_partition_key()]) is defs
    earlier = definitions_for(["2019-03", "2026-10"])
    assert earlier.resolve_job_def("load_billing_period").partitions_def.get_first_partition_key() == "2019-03"


def test_the_sensor_leaves_a_delivery_before_the_first_partition_for_later(tmp_path, monkeypatch):
    from orchestration.definitions import build_definitions

    exports = tmp_path / "exports"
    write_sample_exports(exports, periods=["2024-05", "2024-06"], rows_per_period=200, seed=3,
                         layout={"payer-a": "cur2"})
    settings_for(tmp_path / "data", monkeypatch, exports)
    definitions = build_definitions(billing_periods("2024-06"))
    sensor = definitions.get_sensor_def("export_deliveries")
    with dg.instance_for_test() as instance:
        result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=definitions))
    assert [r.partition_key for r in result.run_requests] == ["2024-06"]
    assert result.run_requests[0].tags["finops/run_kind"] == "sensor"
    assert [key.rsplit("/", 1)[1] for key in json.loads(result.cursor)] == ["2024-06"]  # 2024-05 asked again later
