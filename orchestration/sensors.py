"""Sensors: new export deliveries trigger loads; finished loads trigger one warehouse build.

``export_deliveries`` lists the export location (S3 or a folder) on every tick
and compares each export's current delivery per billing period (the manifest's
executionId/assemblyId, or the content hash of an Athena folder — see
``Delivery.delivery_id``) with its cursor. Only the billing periods whose
delivery changed get a run, so nothing is loaded twice.

The cursor is JSON: ``{"<format>/<export>/<YYYY-MM>": "<delivery_id>", ...}``.
An empty cursor (first tick, or a reset) falls back to what is already landed
(the ``.delivery.json`` sidecars), so turning the sensor on over a loaded
warehouse does not reload everything.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from orchestration.ingestion.discovery import Delivery, discover_deliveries
from orchestration.ingestion.errors import IngestionError, NoExportsFoundError
from orchestration.ingestion.landing import landed_delivery
from orchestration.ingestion.storage import open_store
from orchestration.runtime import RUN_KIND_TAG, recover_dead_runs
from orchestration.settings import Settings

DELIVERY_SENSOR_INTERVAL_S = 300
BUILD_SENSOR_INTERVAL_S = 60


def cursor_key(delivery: Delivery) -> str:
    return f"{delivery.export_id}/{delivery.billing_period}"


def changed_deliveries(deliveries: list[Delivery], cursor: dict[str, str],
                       landing_dir: Path | None) -> tuple[dict[str, list[Delivery]], dict[str, str]]:
    """Deliveries not seen before, by billing period, and the cursor that records them."""
    new_cursor = dict(cursor)
    changed: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        if not delivery.ready:  # AWS is still writing it; the next tick sees it complete
            continue
        key = cursor_key(delivery)
        seen = cursor.get(key)
        if seen is None and landing_dir is not None:
            landed = landed_delivery(landing_dir, delivery)
            seen = landed.get("delivery_id") if landed else None
        if seen != delivery.delivery_id:
            changed[delivery.billing_period].append(delivery)
        new_cursor[key] = delivery.delivery_id
    return dict(changed), new_cursor


def build_delivery_sensor(load_job, partitions_def) -> dg.SensorDefinition:
    @dg.sensor(job=load_job, name="export_deliveries", minimum_interval_seconds=DELIVERY_SENSOR_INTERVAL_S,
               description="Watches FINOPS_EXPORT_URI for new export deliveries (manifest executionId/assemblyId "
                           "or changed Athena files) and loads exactly the affected billing periods.")
    def export_deliveries(context: dg.SensorEvaluationContext):
        settings = Settings.from_env()
        try:
            deliveries = discover_deliveries(open_store(settings.export_uri))
        except NoExportsFoundError as exc:
            return dg.SkipReason(str(exc))
        except IngestionError as exc:  # a broken manifest: say so on the tick, try again next time
            return dg.SkipReason(f"cannot read the export location: {exc}")
        cursor = json.loads(context.cursor) if context.cursor else {}
        changed, new_cursor = changed_deliveries(deliveries, cursor, settings.landing_dir)
        valid = set(partitions_def.get_partition_keys())
        requests = []
        for period in sorted(changed):
            if period not in valid:
                # Left out of the cursor, so that it is requested once the partitions include it.
                for delivery in changed[period]:
                    if cursor_key(delivery) in cursor:
                        new_cursor[cursor_key(delivery)] = cursor[cursor_key(delivery)]
                    else:
                        new_cursor.pop(cursor_key(delivery), None)
                first = partitions_def.get_first_partition_key()
                context.log.warning(
                    f"billing period {period} is before the first partition ({first}), computed when the code "
                    "location loaded; reload it (Deployment > Reload) or set FINOPS_FIRST_BILLING_PERIOD, or load "
                    "it with `finops build --period`; not loaded yet")
                continue
            ids = sorted(f"{cursor_key(d)}={d.delivery_id}" for d in changed[period])
            requests.append(dg.RunRequest(
                run_key=f"delivery:{period}:{'|'.join(ids)}", partition_key=period,
                tags={"finops/trigger": "export_deliveries", RUN_KIND_TAG: "sensor",
                      "finops/deliveries": ", ".join(f"{d.export_key}:{d.delivery_id}" for d in changed[period])[:1000]}))
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(new_cursor, sort_keys=True),
                               skip_reason=None if requests else "no new deliveries")

    return export_deliveries


def build_warehouse_sensor(load_job_name: str, build_job) -> dg.SensorDefinition:
    @dg.sensor(job=build_job, name="warehouse_after_landing", minimum_interval_seconds=BUILD_SENSOR_INTERVAL_S,
               description="Rebuilds the marts (dbt, checks, alerts) once after landing runs finish: waits until "
                           "no load_billing_period run is queued or running, then requests one build of the billing "
                           "periods (partitions) they landed. A run whose "
                           "process is gone (killed) is marked failed first.")
    def warehouse_after_landing(context: dg.SensorEvaluationContext):
        since = float(context.cursor) if context.cursor else 0.0
        # A landing run killed with SIGKILL stays STARTED for ever: mark it failed first, or
        # this sensor would wait for it on every tick (orchestration/runtime.py).
        for dead in recover_dead_runs(context.instance):
            context.log.warning(str(dead))
        busy = context.instance.get_run_records(
            dg.RunsFilter(job_name=load_job_name, statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
                                                          dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]),
            limit=1)
        if busy:
            return dg.SkipReason("landing runs are still in progress")
        finished = context.instance.get_run_records(
            dg.RunsFilter(job_name=load_job_name, statuses=[dg.DagsterRunStatus.SUCCESS],
                          updated_after=datetime.fromtimestamp(since, timezone.utc)), limit=100)
        if not finished:
            return dg.SkipReason("no landing run finished since the last build")
        newest = max(record.update_timestamp.timestamp() for record in finished)
        # the dbt models are partitioned like the landing: build the months just landed, in one run
        periods = sorted({record.dagster_run.tags.get("dagster/partition") for record in finished} - {None})
        tags = {RUN_KIND_TAG: "sensor"}
        if periods:
            tags.update({"dagster/asset_partition_range_start": periods[0],
                         "dagster/asset_partition_range_end": periods[-1]})
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"after-landing:{newest}", tags=tags)],
                               cursor=str(newest))

    return warehouse_after_landing
