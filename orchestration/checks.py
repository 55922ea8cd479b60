"""Great Expectations suites run as Dagster asset checks.

The suites live in the file context ``expectations/`` (JSON, kept in the repo);
this module computes the small DataFrame each suite validates and turns GE's
verdict into an ``AssetCheckResult``.  Nothing here re-implements a dbt test:

* ``landing_profile`` — per landing format and billing period, one row per
  landed export profiled with DuckDB straight from the parquet (required
  columns present, costs numeric, usage dates inside the period, line item ids
  unique within the delivery).  Blocking (ERROR).
* ``allocation_completeness`` — per billing period, from the dbt model
  ``marts.rpt_allocation_completeness``: allocated billed/effective totals equal
  the canonical line items within 0.01, no NULL allocation dimension, shared
  pools fully distributed.  Blocking (ERROR).
* ``untagged_spend`` — per billing period, the KPI ``untagged_cost_pct`` (untagged share
  of taggable spend, fct_finops_kpis_monthly) is at most its target.  WARN: a KPI never
  stops the pipeline.

Validation results and Data Docs go under ``$FINOPS_DATA_DIR`` (``docs/`` for
the HTML), so the repo only holds the suites and their wiring.
"""


import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from orchestration.ingestion.profile import profile_landing_file
from orchestration.settings import EXPECTATIONS_DIR

log = logging.getLogger(__name__)

DATASOURCE = "finops_evidence"
LANDING_SUITE = "landing_profile"
ALLOCATION_SUITE = "allocation_completeness"
UNTAGGED_SUITE = "untagged_spend"
SUITES = (LANDING_SUITE, ALLOCATION_SUITE, UNTAGGED_SUITE)
# The column that names the failing row in a suite's evidence (shown in check results).
ROW_ID_COLUMN = {LANDING_SUITE: "export", ALLOCATION_SUITE: "billing_period", UNTAGGED_SUITE: "billing_period"}



@dataclass(frozen=True)
class Failure:
    """One failed expectation on one evidence row."""

    expectation: str
    column: str
    row: str  # billing period or export name
    observed: object

    def describe(self) -> str:
        return f"{self.expectation}({self.column}) failed for {self.row}: observed {self.observed}"


@dataclass
class Outcome:
    suite: str
    success: bool
    failures: list[Failure] = field(default_factory=list)
    evaluated: int = 0
    docs_index: str | None = None

    @property
    def failing_rows(self) -> list[str]:
        return sorted({f.row for f in self.failures})


# --------------------------------------------------------------------------------------------
# Evidence: small DataFrames computed by DuckDB (or dbt), never line items in pandas
# --------------------------------------------------------------------------------------------

def landing_profile(landing_dir: Path, format_name: str, billing_period: str) -> pd.DataFrame:
    """One row per export landed for ``format_name`` and ``billing_period`` (YYYY-MM).

    The same profile the loader refuses a delivery on before its swap (ingestion.profile).
    """
    files = sorted((landing_dir / format_name / f"billing_period={billing_period}").glob("*.parquet"))
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        rows = [profile_landing_file(con, path, format_name, billing_period) for path in files]
    columns = ["export", "delivery_id", "row_count", "missing_required_columns", "missing_columns",
               "non_numeric_cost_columns", "null_cost_values", "usage_outside_period", "duplicate_line_item_ids"]
    return pd.DataFrame([{c: row[c] for c in columns} for row in rows], columns=columns)


def allocation_evidence(warehouse_path: Path) -> pd.DataFrame:
    """marts.rpt_allocation_completeness (one row per billing period and currency). Its
    untagged_cost_pct and untagged_cost_target_pct are the KPI's value and target from
    fct_finops_kpis_monthly (one definition, the semantic layer). A failure names its row by
    ``billing_period``: the period, followed by the currency when the bill has more than one."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        frame = con.execute("""
            select strftime(billing_period, '%Y-%m')
                       || case when count(distinct billing_currency) over () > 1
                               then ' ' || coalesce(billing_currency, '?') else '' end as billing_period,
                   * exclude (billing_period)
            from marts.rpt_allocation_completeness order by billing_period, billing_currency""").df()
    # a period without taggable spend has no untagged share (the KPI is no_data): nothing to flag
    frame["untagged_cost_pct"] = frame["untagged_cost_pct"].fillna(0.0)
    return frame


# --------------------------------------------------------------------------------------------
# Great Expectations
# --------------------------------------------------------------------------------------------

def _context(data_dir: Path | str | None = None):
    import great_expectations as gx

    # great_expectations.yml puts validation results and Data Docs under ${FINOPS_DATA_DIR}
    os.environ["FINOPS_DATA_DIR"] = str(Path(data_dir or os.environ.get("FINOPS_DATA_DIR", "data")).resolve())
    return gx.get_context(mode="file", context_root_dir=str(EXPECTATIONS_DIR))


def _suite_expectations(suite: str) -> list:
    """The expectations of each suite: used once by ``init_context`` to write the JSON in expectations/."""
    import great_expectations.expectations as gxe

    def zero(column: str) -> gxe.Expectation:
        return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=0)

    def cent(column: str) -> gxe.Expectation:
        return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=-0.01, max_value=0.01)

    if suite == LANDING_SUITE:
        return [zero("missing_required_columns"), zero("non_numeric_cost_columns"), zero("null_cost_values"),
                zero("usage_outside_period"), zero("duplicate_line_item_ids")]
    if suite == ALLOCATION_SUITE:
        return [cent("billed_cost_difference"), cent("effective_cost_difference"),
                zero("null_dimension_rows"), cent("undistributed_shared_cost")]
    if suite == UNTAGGED_SUITE:
        return [gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="untagged_cost_target_pct", column_B="untagged_cost_pct", or_equal=True)]
    raise KeyError(suite)


def init_context() -> None:
    """Create (or refresh) the suites, validation definitions and checkpoints in expectations/.

    Run by a maintainer after changing ``_suite_expectations``: ``python -m orchestration.checks``.
    """
    import great_expectations as gx

    context = _context()
    datasource = context.data_sources.add_or_update_pandas(DATASOURCE)
    for suite_name in SUITES:
        asset = (datasource.get_asset(suite_name) if suite_name in datasource.get_asset_names()
                 else datasource.add_dataframe_asset(suite_name))
        batch = (asset.get_batch_definition("whole") if "whole" in [b.name for b in asset.batch_definitions]
                 else asset.add_batch_definition_whole_dataframe("whole"))
        suite = gx.ExpectationSuite(name=suite_name, expectations=_suite_expectations(suite_name))
        suite = context.suites.add_or_update(suite)
        validation = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=suite_name, data=batch, suite=suite))
        context.checkpoints.add_or_update(gx.Checkpoint(
            name=suite_name, validation_definitions=[validation],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
            result_format={"result_format": "COMPLETE",
                           "unexpected_index_column_names": [ROW_ID_COLUMN[suite_name]]},
        ))


def validate(suite: str, evidence: pd.DataFrame, data_dir: Path | str | None = None) -> Outcome:
    """Run the suite's checkpoint on ``evidence``; Data Docs are rebuilt under <data dir>/docs."""
    context = _context(data_dir)
    result = context.checkpoints.get(suite).run(batch_parameters={"dataframe": evidence})
    outcome = Outcome(suite=suite, success=bool(result.success), evaluated=len(evidence))
    row_id = ROW_ID_COLUMN[suite]
    for run_result in result.run_results.values():
        for expectation in run_result.results:
            if expectation.success:
                continue
            config = expectation.expectation_config
            kwargs = config.kwargs
            column = kwargs.get("column") or f"{kwargs.get('column_A')} >= {kwargs.get('column_B')}"
            indexed = (expectation.result or {}).get("unexpected_index_list") or []
            if not indexed:
                outcome.failures.append(Failure(config.type, column, "all rows", expectation.result))
            for entry in indexed:
                observed = {k: v for k, v in entry.items() if k != row_id} if isinstance(entry, dict) else entry
                row = entry.get(row_id) if isinstance(entry, dict) else str(entry)
                outcome.failures.append(Failure(config.type, column, str(row), _plain(observed)))
    docs = Path(os.environ["FINOPS_DATA_DIR"]) / "docs" / "index.html"
    outcome.docs_index = str(docs) if docs.exists() else None
    return outcome


def _plain(value):
    if isinstance(value, dict):
        if len(value) != 1:
            return {k: _plain(v) for k, v in value.items()}
        value = next(iter(value.values()))
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return round(value, 4)
    return value


if __name__ == "__main__":
    init_context()
    print(f"suites, validation definitions and checkpoints written to {EXPECTATIONS_DIR}")


# --------------------------------------------------------------------------------------------
# Dagster asset checks
# --------------------------------------------------------------------------------------------

ALLOCATED_ASSET = ("marts", "fct_cost_allocated_daily")
COMPLETENESS_ASSET = ("marts", "rpt_allocation_completeness")


def check_result(outcome: Outcome, severity, *, period: str | None = None):
    """An AssetCheckResult naming what failed and where (billing period or export)."""
    failed = "; ".join(f.describe() for f in outcome.failures[:20])
    metadata = {
        "suite": outcome.suite,
        "rows_validated": outcome.evaluated,
        "failing": ", ".join(outcome.failing_rows) or "none",
        "failures": dg.MetadataValue.json([f.__dict__ | {"observed": f.observed} for f in outcome.failures[:50]]),
    }
    if period:
        metadata["billing_period"] = period
    if outcome.docs_index:
        metadata["data_docs"] = dg.MetadataValue.path(outcome.docs_index)
    description = (f"{outcome.suite}: all expectations met" if outcome.success
                   else f"{outcome.suite} failed{' for ' + period if period else ''}: {failed}")
    return dg.AssetCheckResult(passed=outcome.success, severity=severity, metadata=metadata,
                               description=description)


def build_asset_checks(partitions_def, formats) -> list:
    """The GE suites as Dagster asset checks on the assets they guard."""
    def landing_check(format_name: str):
        @dg.asset_check(asset=dg.AssetKey(["landing", format_name]), name="landing_profile_expectations",
                        partitions_def=partitions_def, blocking=True, required_resource_keys={"finops"},
                        description=f"GE suite {LANDING_SUITE} on the {format_name} exports landed for the "
                                    "billing period: required columns, numeric costs, usage dates inside the "
                                    "period, unique line item ids per delivery (blocking).")
        def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
            finops = context.resources.finops
            period = context.partition_key
            evidence = landing_profile(Path(finops.data_dir) / "landing", format_name, period)
            return check_result(validate(LANDING_SUITE, evidence, finops.data_dir), dg.AssetCheckSeverity.ERROR, period=period)

        return _check

    @dg.asset_check(asset=dg.AssetKey(list(ALLOCATED_ASSET)), name="allocation_completeness",
                    additional_deps=[dg.AssetKey(list(COMPLETENESS_ASSET))], blocking=True,
                    required_resource_keys={"finops"},
                    description=f"GE suite {ALLOCATION_SUITE} per billing period: allocated billed and effective "
                                "totals equal the canonical line items within 0.01, no NULL allocation dimension, "
                                "shared pools fully distributed (blocking).")
    def allocation_completeness(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        data_dir = context.resources.finops.data_dir
        evidence = allocation_evidence(Path(data_dir) / "warehouse.duckdb")
        return check_result(validate(ALLOCATION_SUITE, evidence, data_dir), dg.AssetCheckSeverity.ERROR)

    @dg.asset_check(asset=dg.AssetKey(list(ALLOCATED_ASSET)), name="untagged_spend_within_target",
                    additional_deps=[dg.AssetKey(list(COMPLETENESS_ASSET))], required_resource_keys={"finops"},
                    description=f"GE suite {UNTAGGED_SUITE}: untagged_cost_pct per billing period is at most its "
                                "target in kpi_targets (a KPI: WARN, never stops the pipeline).")
    def untagged_spend(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        data_dir = context.resources.finops.data_dir
        evidence = allocation_evidence(Path(data_dir) / "warehouse.duckdb")
        return check_result(validate(UNTAGGED_SUITE, evidence, data_dir), dg.AssetCheckSeverity.WARN)

    with warnings.catch_warnings():  # partitioned asset checks are a Dagster preview feature
        warnings.simplefilter("ignore", category=dg.PreviewWarning)
        landing_checks = [landing_check(fmt) for fmt in formats]
    return landing_checks + [allocation_completeness, untagged_spend]
