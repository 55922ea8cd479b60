"""The Dagster definitions: what `dagster dev` shows and what `finops build` runs.

Landing assets (one per export format) are partitioned by billing period; the
dbt models are assets downstream of them, their tests are asset checks.  Python
stays thin here: S3 and manifests in ``ingestion``, transformations in dbt.
"""


import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.ingestion.discovery import discover_deliveries
from orchestration.ingestion.landing import ensure_landing_layout, land_delivery
from orchestration.ingestion.storage import open_store
from orchestration.landing_schema import FORMATS
from orchestration.settings import DBT_PROJECT_DIR, Settings

BILLING_PERIODS = dg.MonthlyPartitionsDefinition(
    start_date=Settings.from_env().first_billing_period,
    fmt="%Y-%m",
    end_offset=1,  # the current month is billed (and restated) while it runs
)


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


@dg.multi_asset(
    outs={fmt: dg.AssetOut(key=dg.AssetKey(["landing", fmt]), is_required=False,
                           description=f"{fmt} line items as delivered, conformed to the landing schema "
                                       f"(landing/{fmt}/billing_period=YYYY-MM/<export>.parquet)")
          for fmt in FORMATS},
    partitions_def=BILLING_PERIODS,
    can_subset=True,
    group_name="landing",
    compute_kind="python",
)
def landing(context: dg.AssetExecutionContext, finops: FinopsSettings):
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


class FinopsDbtTranslator(DagsterDbtTranslator):
    """Asset groups mirror the dbt layers: staging, intermediate, marts, config (seeds)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "config"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project,
            dagster_dbt_translator=FinopsDbtTranslator())
def finops_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Seeds, staging, intermediate and marts, with their tests as asset checks."""
    yield from dbt.cli(["build"], context=context).stream()


load_billing_period = dg.define_asset_job(
    "load_billing_period", selection=dg.AssetSelection.groups("landing"),
    description="Land the current delivery of every export for one billing period.",
)
build_warehouse = dg.define_asset_job(
    "build_warehouse", selection=dg.AssetSelection.assets(finops_dbt_models),
    description="Build every dbt model (seeds, staging, intermediate, marts) and run its tests.",
)


def _dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR),
                          dbt_executable=str(Path(sys.executable).with_name("dbt")))


defs = dg.Definitions(
    assets=[landing, finops_dbt_models],
    jobs=[load_billing_period, build_warehouse],
    resources={"finops": FinopsSettings.from_env(), "dbt": _dbt_resource()},
)
