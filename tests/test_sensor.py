"""The export-delivery sensor against moto's S3 server, and the schedules' billing periods."""

import json
from datetime import datetime, timezone

import dagster as dg
import pytest

from orchestration.definitions import billing_periods, build_definitions
from orchestration.sample_data import write_sample_exports
from tests.conftest import upload_folder

PERIODS = ["2026-05", "2026-06"]
# Fixed partitions: the ones of `orchestration.definitions.defs` start where the data found at
# import starts (settings.first_partition), and these tests use fixed months.
defs = build_definitions(billing_periods("2018-01"))


def schedule_context(when: datetime):
    return dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def())


def tick(sensor, cursor):
    with dg.instance_for_test() as instance:
        result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
    return sorted(r.partition_key for r in result.run_requests or []), result.cursor


@pytest.fixture
def exports_in_s3(tmp_path, s3_bucket, monkeypatch):
    exports = tmp_path / "exports"
    write_sample_exports(exports, periods=PERIODS, rows_per_period=300, seed=5, layout={"payer-a": "cur2"},
                         bucket=s3_bucket, prefix="billing")
    upload_folder(exports, s3_bucket, "billing")
    monkeypatch.setenv("FINOPS_EXPORT_URI", f"s3://{s3_bucket}/billing")
    monkeypatch.setenv("FINOPS_DATA_DIR", str(tmp_path / "data"))
    return exports, s3_bucket


def test_a_new_delivery_of_one_month_requests_a_run_for_that_month_only(exports_in_s3):
    import boto3

    exports, bucket = exports_in_s3
    sensor = defs.get_sensor_def("export_deliveries")

    periods, cursor = tick(sensor, None)  # nothing landed yet: every period is new
    assert periods == PERIODS
    # the cursor: "<format>/<export>/<billing period>" -> delivery id (the manifest's executionId)
    assert sorted(key.rsplit("/", 1)[1] for key in json.loads(cursor)) == PERIODS
    assert all(key.startswith("cur2/") for key in json.loads(cursor))

    periods, cursor_after_quiet_tick = tick(sensor, cursor)
    assert periods == []
    assert json.loads(cursor_after_quiet_tick) == json.loads(cursor)

    # AWS re-delivers June: a new executionId in the June manifest
    [manifest] = [p for p in exports.rglob("*-Manifest.json") if "BILLING_PERIOD=2026-06" in str(p)]
    content = json.loads(manifest.read_text())
    content["executionId"] = "re-delivery-2"
    boto3.client("s3").put_object(Bucket=bucket, Key=f"billing/{manifest.relative_to(exports).as_posix()}",
                                  Body=json.dumps(content).encode())

    periods, cursor = tick(sensor, cursor)
    assert periods == ["2026-06"]
    assert "re-delivery-2" in json.loads(cursor).values()
    assert tick(sensor, cursor)[0] == []


def test_an_empty_cursor_skips_deliveries_already_landed(exports_in_s3, tmp_path):
    from orchestration.ingestion.discovery import discover_deliveries
    from orchestration.ingestion.landing import ensure_landing_layout, land_delivery
    from orchestration.ingestion.storage import open_store
    from orchestration.settings import Settings

    settings = Settings.from_env()
    ensure_landing_layout(settings.landing_dir)
    store = open_store(settings.export_uri)
    for delivery in discover_deliveries(store):
        if delivery.billing_period == "2026-05":
            land_delivery(store, delivery, settings.landing_dir, threads=1, memory_limit="1GB")
    periods, _ = tick(defs.get_sensor_def("export_deliveries"), None)
    assert periods == ["2026-06"]


def test_daily_schedule_reloads_the_restatement_window(monkeypatch):
    monkeypatch.setenv("FINOPS_RESTATEMENT_MONTHS", "2")
    schedule = defs.get_schedule_def("daily_restatement")
    context = schedule_context(datetime(2026, 1, 3, 6, tzinfo=timezone.utc))
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert [r.partition_key for r in requests] == ["2025-12", "2026-01"]
    monkeypatch.setenv("FINOPS_RESTATEMENT_MONTHS", "3")
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert [r.partition_key for r in requests] == ["2025-11", "2025-12", "2026-01"]


def test_monthly_close_reloads_the_previous_month_on_the_8th():
    schedule = defs.get_schedule_def("monthly_close")
    assert schedule.cron_schedule == "0 7 8 * *"
    context = schedule_context(datetime(2026, 3, 8, 7, tzinfo=timezone.utc))
    [request] = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-02"
