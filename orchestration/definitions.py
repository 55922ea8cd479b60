"""The Dagster definitions: what `dagster dev` shows and what `finops build` runs.

Landing assets (one per export format) are partitioned by billing period; the
dbt models are assets downstream of them, their tests are asset checks.  Python
stays thin here: S3 and manifests in ``ingestion``, transformations in dbt.
"""


import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (DagsterDbtProjectPreparer, DagsterDbtTranslator, DbtCliResource, DbtProject,
                         dbt_assets)

from orchestration.alerts import build_alerts_asset
from orchestration.checks import build_asset_checks
from orchestration.dbt_docs import build_dbt_docs_asset
from orchestration.optimize import build_savings_asset
from orchestration.ingestion.discovery import discover_deliveries
from orchestration.ingestion.landing import ensure_landing_layout, land_delivery
from orchestration.ingestion.storage import open_store
from orchestration.landing_schema import FORMATS
from orchestration.progress import progress_logger
from orchestration.publish import build_publish_asset
from orchestration.reports import build_review_pack_asset
from orchestration.schedules import build_schedules
from orchestration.sensors import build_delivery_sensor, build_warehouse_sensor
from orchestration.settings import DBT_PROJECT_DIR, Settings, dbt_executable, first_partition


def billing_periods(first: str) -> dg.MonthlyPartitionsDefinition:
    """Monthly partitions (YYYY-MM) from ``first`` up to the current month."""
    return dg.MonthlyPartitionsDefinition(
        start_date=first,
        fmt="%Y-%m",
        end_offset=1,  # the current month is billed (and restated) while it runs
    )


# Computed when the code location loads (settings.first_partition: FINOPS_FIRST_BILLING_PERIOD, else
# the earliest billing period landed or in a local export folder, else the last 12 months): a period
# landed earlier than it appears in the UI after a reload of the code location.
BILLING_PERIODS = billing_periods(first_partition(Settings.from_env()))


class FinopsSettings(dg.ConfigurableResource):
    """Where exports are read from and the warehouse lives.

    Resolved from the FINOPS_* environment variables when a run starts (not at
    import), so `finops build --export-uri ...` and the UI agree.
    """

    export_uri: str
    data_dir: str
    duckdb_threads: int
    duckdb_memory_limit: str

    @classmethod
    def from_env(cls) -> "FinopsSettings":
        Settings.from_env().export_to_env()  # fills in the defaults of unset variables
        return cls(export_uri=dg.EnvVar("FINOPS_EXPORT_URI"), data_dir=dg.EnvVar("FINOPS_DATA_DIR"),
                   duckdb_threads=dg.EnvVar.int("FINOPS_DUCKDB_THREADS"),
                   duckdb_memory_limit=dg.EnvVar("FINOPS_DUCKDB_MEMORY_LIMIT"))


def _land_billing_period(context: dg.AssetExecutionContext, finops: FinopsSettings):
    """Load the current delivery of every export for one billing period (atomic replace)."""
    period = context.partition_key
    landing_dir = Path(finops.data_dir) / "landing"
    ensure_landing_layout(landing_dir)
    store = open_store(finops.export_uri)
    deliveries = [d for d in discover_deliveries(store) if d.billing_period == period]
    selected = {key.path[-1] for key in context.selected_asset_keys}
    for fmt in FORMATS:
        if fmt not in selected:
            continue
        results = [
            land_delivery(store, d, landing_dir, threads=finops.duckdb_threads,
                          memory_limit=finops.duckdb_memory_limit)
            for d in deliveries if d.format == fmt
        ]
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["landing", fmt]),
            metadata={
                "exports": dg.MetadataValue.json([r.as_metadata() for r in results]),
                "line_items": sum(r.line_items for r in results),
                "billed_cost": round(sum(r.billed_cost for r in results), 2),
                "deliveries": ", ".join(f"{r.export_name}:{r.delivery_id}:{r.status}" for r in results) or "none",
            },
        )


def landing_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The landing multi-asset (one asset per export format) over ``partitions_def``."""
    return dg.multi_asset(
        name="landing",
        outs={fmt: dg.AssetOut(key=dg.AssetKey(["landing", fmt]), is_required=False,
                               description=f"{fmt} line items as delivered, conformed to the landing schema "
                                           f"(landing/{fmt}/billing_period=YYYY-MM/<export>.parquet)")
              for fmt in FORMATS},
        partitions_def=partitions_def,
        can_subset=True,
        group_name="landing",
        compute_kind="python",
    )(_land_billing_period)


def _land_usage_drivers(context: dg.AssetExecutionContext, finops: FinopsSettings):
    """Check every usage driver file and land the partition's billing period (atomic replace)."""
    from orchestration.ingestion.usage_drivers import land_usage_drivers, usage_drivers_uri

    landed = land_usage_drivers(usage_drivers_uri(Path(finops.data_dir)), Path(finops.data_dir) / "landing",
                                periods=[context.partition_key])
    return dg.MaterializeResult(metadata={"rows": sum(r.rows for r in landed),
                                          "status": ", ".join(r.status for r in landed) or "no drivers"})


def usage_drivers_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The usage drivers landing asset (orchestration/ingestion/usage_drivers.py) over ``partitions_def``."""
    return dg.asset(
        key=dg.AssetKey(["landing", "usage_drivers"]), partitions_def=partitions_def, group_name="landing",
        compute_kind="python",
        description="Usage drivers of shared pools (CSV files under FINOPS_USAGE_DRIVERS_URI), checked and landed "
                    "per billing period (landing/usage_drivers/billing_period=YYYY-MM/usage_drivers.parquet)",
    )(_land_usage_drivers)


class FinopsDbtTranslator(DagsterDbtTranslator):
    """Asset groups mirror the dbt layers: staging, intermediate, marts, config (seeds)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "config"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


# DBT_TARGET_PATH (dbt's own variable) lets two checkouts or engineers share a project dir.
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR,
                         target_path=os.environ.get("DBT_TARGET_PATH", "target"))


def _dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable())


class _VenvDbtPreparer(DagsterDbtProjectPreparer):
    """`dagster dev` re-parses the dbt project on load, as dagster-dbt's own preparer does, but with
    this environment's dbt: the default one runs `dbt` from PATH, which does not hold .venv/bin
    unless the venv is activated (`.venv/bin/dagster dev` from a fresh clone would not load).
    Only the two steps that start dbt are replaced; the guard against concurrent parses stays."""

    def _prepare_packages(self, project: DbtProject) -> None:
        _dbt_resource().cli(["deps", "--quiet"], target_path=project.target_path).wait()

    def _prepare_manifest(self, project: DbtProject) -> None:
        _dbt_resource().cli(self._prepare_project_cli_args, target_path=project.target_path).wait()


_VenvDbtPreparer().prepare_if_dev(dbt_project)


# The seeds (the configuration analysts edit) are not per billing period: one unpartitioned
# asset each, rebuilt when they change. Every model is partitioned by billing period like the
# landing assets: a run for partitions P builds the rows of P in every period-grained model
# (macros/incremental/billing_periods.sql), and the UI shows which months of which model are
# missing or stale. One dbt invocation per run, whatever the range (single-run backfills).
DBT_FULL_REFRESH_TAG = "finops/dbt_full_refresh"  # "true": rebuild the selected models from scratch


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, select="resource_type:seed",
            name="finops_dbt_seeds", dagster_dbt_translator=FinopsDbtTranslator())
def finops_dbt_seeds(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """The seeds (teams, budgets, tag aliases, allocation rules ...) with the tests on seeds alone.

    A test that also reads a model (a relationship from a model to seed teams) runs with the
    models: `cautious` indirect selection keeps only tests whose every parent is selected.
    """
    yield from dbt.cli(["build", "--exclude-resource-type", "unit_test", "--indirect-selection", "cautious"],
                       context=context).stream()


def _build_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Staging, intermediate and marts for the run's billing periods, with their tests as asset checks.

    The partitions of the run reach dbt as FINOPS_BILLING_PERIODS (read by the models only when
    they execute: unlike --vars, it costs dbt no full re-parse). dbt unit tests (SQL logic on
    hand-made fixtures) are left out, as dbt recommends for production runs: they test the code,
    not the bill, and run in the test suite instead.
    """
    periods = ",".join(context.partition_keys) if context.has_partition_key_range or context.has_partition_key else ""
    args = ["build", "--exclude-resource-type", "unit_test"]
    if context.run.tags.get(DBT_FULL_REFRESH_TAG) == "true":
        args.append("--full-refresh")
    context.log.info(f"dbt build for billing period(s) {periods or 'all'}"
                     + (" (full refresh)" if "--full-refresh" in args else ""))
    with _environment(FINOPS_BILLING_PERIODS=periods):
        yield from dbt.cli(args, context=context).stream()


def dbt_models_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Every dbt model (not the seeds) as assets partitioned like the landing assets."""
    return dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, exclude="resource_type:seed",
                      name="finops_dbt_models", partitions_def=partitions_def,
                      backfill_policy=dg.BackfillPolicy.single_run(),
                      dagster_dbt_translator=FinopsDbtTranslator())(_build_dbt_models)


@contextlib.contextmanager
def _environment(**values: str):
    """Set environment variables for the dbt subprocess started inside the block (dagster-dbt copies
    os.environ when it starts dbt), and restore them after."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


finops_dbt_models = dbt_models_asset(BILLING_PERIODS)
cost_alerts = build_alerts_asset()
savings_digest = build_savings_asset()  # Optimize: open savings per team, weekly digest
# Group `publish`: the read-only copy BI tools open (after every mart and its blocking checks),
# then the monthly cost review pack read from it.
published_warehouse = build_publish_asset([key for key in finops_dbt_models.keys if key.path[0] == "marts"])
monthly_review_pack = build_review_pack_asset()
# The dbt docs site beside the review pack, after the steps that read the build file.
dbt_docs = build_dbt_docs_asset([cost_alerts.key, published_warehouse.key])
# What a warehouse build may run after dbt, in this order.
AFTER_DBT = [cost_alerts.key, savings_digest.key, published_warehouse.key, monthly_review_pack.key, dbt_docs.key]


def build_definitions(partitions_def: dg.MonthlyPartitionsDefinition) -> dg.Definitions:
    """Everything `dagster dev` shows, with the landing assets and the dbt models partitioned by
    ``partitions_def``."""
    models = finops_dbt_models if partitions_def is BILLING_PERIODS else dbt_models_asset(partitions_def)
    load_billing_period = dg.define_asset_job(
        "load_billing_period", selection=dg.AssetSelection.groups("landing"),
        description="Land the current delivery of every export for one billing period.",
    )
    build_warehouse = dg.define_asset_job(
        "build_warehouse", selection=dg.AssetSelection.assets(finops_dbt_seeds, models)
                     | dg.AssetSelection.groups("alerts") | dg.AssetSelection.groups("publish"),
        description="Build the dbt models for the run's billing periods (partitions) and the seeds, run their "
                    "tests and the Great Expectations checks, route new cost alerts, then publish the marts for "
                    "BI readers and write the monthly review pack and the dbt docs site.",
    )
    return dg.Definitions(
        assets=[landing_asset(partitions_def), usage_drivers_asset(partitions_def), finops_dbt_seeds, models,
                cost_alerts, savings_digest, published_warehouse, monthly_review_pack, dbt_docs],
        # Great Expectations suites (expectations/) as asset checks on the assets they guard
        asset_checks=build_asset_checks(partitions_def, FORMATS),
        jobs=[load_billing_period, build_warehouse],
        schedules=build_schedules(load_billing_period),
        sensors=[build_delivery_sensor(load_billing_period, partitions_def),
                 build_warehouse_sensor(load_billing_period.name, build_warehouse)],
        resources={"finops": FinopsSettings.from_env(), "dbt": _dbt_resource()},
        # Dagster's console logger, plus `progress` (one line per stage) that `finops build` turns on.
        loggers={**dg.default_loggers(), "progress": progress_logger},
    )


defs = build_definitions(BILLING_PERIODS)


def definitions_for(periods: list[str]) -> dg.Definitions:
    """The definitions a build of ``periods`` runs in-process: ``defs``, unless a period comes before
    its first partition (landed since this module was imported, or only in S3): then the same
    definitions with partitions starting at the earliest of them."""
    first = min(periods, default=None)
    if first is None or first >= BILLING_PERIODS.get_first_partition_key():
        return defs
    return build_definitions(billing_periods(first))
