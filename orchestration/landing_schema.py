"""The landing contract: the one schema each export format is conformed to.

Landing is the boundary between Python (which talks to S3 and reads manifests)
and dbt (which transforms).  Every landing parquet file of a format has exactly
the columns below, with exactly these DuckDB types, whatever the delivery looked
like: a column the delivery lacks is NULL, a column it has beyond these is
dropped (legacy CUR tag columns are folded into the ``resource_tags`` map first).
dbt's staging models rely on this, so a month with a different legacy CUR
schema never breaks a build.

Layout (one file per export per billing period, replaced atomically)::

    $FINOPS_DATA_DIR/landing/<format>/billing_period=YYYY-MM/<export>.parquet
    $FINOPS_DATA_DIR/landing/<format>/billing_period=YYYY-MM/<export>.delivery.json
    $FINOPS_DATA_DIR/landing/<format>/_empty.parquet   (schema only, zero rows)
"""

from __future__ import annotations

from dataclasses import dataclass

# Formats, in the precedence used when two exports cover the same billing
# account and period (the dbt var ``export_precedence`` holds the same order).
CUR2 = "cur2"
CUR_LEGACY = "cur_legacy"
FOCUS = "focus"
FORMATS = (CUR2, CUR_LEGACY, FOCUS)

# CUR 2.0 (AWS Data Exports, the 115 columns of the default query, plus the split cost
# allocation columns).  Legacy CUR
# lands in the same shape: its Athena/parquet names are the CUR 2.0 names, and
# its CSV names (``lineItem/UnblendedCost``) convert to them.
CUR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("bill_bill_type", "VARCHAR"),
    ("bill_billing_entity", "VARCHAR"),
    ("bill_billing_period_end_date", "TIMESTAMP"),
    ("bill_billing_period_start_date", "TIMESTAMP"),
    ("bill_invoice_id", "VARCHAR"),
    ("bill_invoicing_entity", "VARCHAR"),
    ("bill_payer_account_id", "VARCHAR"),
    ("bill_payer_account_name", "VARCHAR"),
    ("cost_category", "MAP(VARCHAR, VARCHAR)"),
    ("discount", "MAP(VARCHAR, DOUBLE)"),
    ("discount_bundled_discount", "DOUBLE"),
    ("discount_total_discount", "DOUBLE"),
    ("identity_line_item_id", "VARCHAR"),
    ("identity_time_interval", "VARCHAR"),
    ("line_item_availability_zone", "VARCHAR"),
    ("line_item_blended_cost", "DOUBLE"),
    ("line_item_blended_rate", "VARCHAR"),
    ("line_item_currency_code", "VARCHAR"),
    ("line_item_legal_entity", "VARCHAR"),
    ("line_item_line_item_description", "VARCHAR"),
    ("line_item_line_item_type", "VARCHAR"),
    ("line_item_net_unblended_cost", "DOUBLE"),
    ("line_item_net_unblended_rate", "VARCHAR"),
    ("line_item_normalization_factor", "DOUBLE"),
    ("line_item_normalized_usage_amount", "DOUBLE"),
    ("line_item_operation", "VARCHAR"),
    ("line_item_product_code", "VARCHAR"),
    ("line_item_resource_id", "VARCHAR"),
    ("line_item_tax_type", "VARCHAR"),
    ("line_item_unblended_cost", "DOUBLE"),
    ("line_item_unblended_rate", "VARCHAR"),
    ("line_item_usage_account_id", "VARCHAR"),
    ("line_item_usage_account_name", "VARCHAR"),
    ("line_item_usage_amount", "DOUBLE"),
    ("line_item_usage_end_date", "TIMESTAMP"),
    ("line_item_usage_start_date", "TIMESTAMP"),
    ("line_item_usage_type", "VARCHAR"),
    ("pricing_currency", "VARCHAR"),
    ("pricing_lease_contract_length", "VARCHAR"),
    ("pricing_offering_class", "VARCHAR"),
    ("pricing_public_on_demand_cost", "DOUBLE"),
    ("pricing_public_on_demand_rate", "VARCHAR"),
    ("pricing_purchase_option", "VARCHAR"),
    ("pricing_rate_code", "VARCHAR"),
    ("pricing_rate_id", "VARCHAR"),
    ("pricing_term", "VARCHAR"),
    ("pricing_unit", "VARCHAR"),
    ("product", "MAP(VARCHAR, VARCHAR)"),
    ("product_comment", "VARCHAR"),
    ("product_fee_code", "VARCHAR"),
    ("product_fee_description", "VARCHAR"),
    ("product_from_location", "VARCHAR"),
    ("product_from_location_type", "VARCHAR"),
    ("product_from_region_code", "VARCHAR"),
    ("product_instance_family", "VARCHAR"),
    ("product_instance_type", "VARCHAR"),
    ("product_instancesku", "VARCHAR"),
    ("product_location", "VARCHAR"),
    ("product_location_type", "VARCHAR"),
    ("product_operation", "VARCHAR"),
    ("product_pricing_unit", "VARCHAR"),
    ("product_product_family", "VARCHAR"),
    ("product_region_code", "VARCHAR"),
    ("product_servicecode", "VARCHAR"),
    ("product_sku", "VARCHAR"),
    ("product_to_location", "VARCHAR"),
    ("product_to_location_type", "VARCHAR"),
    ("product_to_region_code", "VARCHAR"),
    ("product_usagetype", "VARCHAR"),
    ("reservation_amortized_upfront_cost_for_usage", "DOUBLE"),
    ("reservation_amortized_upfront_fee_for_billing_period", "DOUBLE"),
    ("reservation_availability_zone", "VARCHAR"),
    ("reservation_effective_cost", "DOUBLE"),
    ("reservation_end_time", "VARCHAR"),
    ("reservation_modification_status", "VARCHAR"),
    ("reservation_net_amortized_upfront_cost_for_usage", "DOUBLE"),
    ("reservation_net_amortized_upfront_fee_for_billing_period", "DOUBLE"),
    ("reservation_net_effective_cost", "DOUBLE"),
    ("reservation_net_recurring_fee_for_usage", "DOUBLE"),
    ("reservation_net_unused_amortized_upfront_fee_for_billing_period", "DOUBLE"),
    ("reservation_net_unused_recurring_fee", "DOUBLE"),
    ("reservation_net_upfront_value", "DOUBLE"),
    ("reservation_normalized_units_per_reservation", "VARCHAR"),
    ("reservation_number_of_reservations", "VARCHAR"),
    ("reservation_recurring_fee_for_usage", "DOUBLE"),
    ("reservation_reservation_a_r_n", "VARCHAR"),
    ("reservation_start_time", "VARCHAR"),
    ("reservation_subscription_id", "VARCHAR"),
    ("reservation_total_reserved_normalized_units", "VARCHAR"),
    ("reservation_total_reserved_units", "VARCHAR"),
    ("reservation_units_per_reservation", "VARCHAR"),
    ("reservation_unused_amortized_upfront_fee_for_billing_period", "DOUBLE"),
    ("reservation_unused_normalized_unit_quantity", "DOUBLE"),
    ("reservation_unused_quantity", "DOUBLE"),
    ("reservation_unused_recurring_fee", "DOUBLE"),
    ("reservation_upfront_value", "DOUBLE"),
    ("resource_tags", "MAP(VARCHAR, VARCHAR)"),
    ("savings_plan_amortized_upfront_commitment_for_billing_period", "DOUBLE"),
    ("savings_plan_end_time", "VARCHAR"),
    ("savings_plan_instance_type_family", "VARCHAR"),
    ("savings_plan_net_amortized_upfront_commitment_for_billing_period", "DOUBLE"),
    ("savings_plan_net_recurring_commitment_for_billing_period", "DOUBLE"),
    ("savings_plan_net_savings_plan_effective_cost", "DOUBLE"),
    ("savings_plan_offering_type", "VARCHAR"),
    ("savings_plan_payment_option", "VARCHAR"),
    ("savings_plan_purchase_term", "VARCHAR"),
    ("savings_plan_recurring_commitment_for_billing_period", "DOUBLE"),
    ("savings_plan_region", "VARCHAR"),
    ("savings_plan_savings_plan_a_r_n", "VARCHAR"),
    ("savings_plan_savings_plan_effective_cost", "DOUBLE"),
    ("savings_plan_savings_plan_rate", "DOUBLE"),
    ("savings_plan_start_time", "VARCHAR"),
    ("savings_plan_total_commitment_to_date", "DOUBLE"),
    ("savings_plan_used_commitment", "DOUBLE"),
    # Split cost allocation data (EKS pods / ECS tasks), present when the export includes it:
    # each pod record restates part of its parent EC2 instance's cost (docs/allocation.md#kubernetes).
    ("split_line_item_actual_usage", "DOUBLE"),
    ("split_line_item_net_split_cost", "DOUBLE"),
    ("split_line_item_net_unused_cost", "DOUBLE"),
    ("split_line_item_parent_resource_id", "VARCHAR"),
    ("split_line_item_public_on_demand_split_cost", "DOUBLE"),
    ("split_line_item_public_on_demand_unused_cost", "DOUBLE"),
    ("split_line_item_reserved_usage", "DOUBLE"),
    ("split_line_item_split_cost", "DOUBLE"),
    ("split_line_item_split_usage", "DOUBLE"),
    ("split_line_item_split_usage_ratio", "DOUBLE"),
    ("split_line_item_unused_cost", "DOUBLE"),
    ("tags", "MAP(VARCHAR, VARCHAR)"),)

# FOCUS 1.0 columns plus the 1.1/1.2 additions we use.  ``Tags`` is a JSON
# object in the specification; it lands as a MAP so every format reaches dbt
# with tags in the same shape.
FOCUS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("AvailabilityZone", "VARCHAR"),
    ("BilledCost", "DOUBLE"),
    ("BillingAccountId", "VARCHAR"),
    ("BillingAccountName", "VARCHAR"),
    ("BillingCurrency", "VARCHAR"),
    ("BillingPeriodEnd", "TIMESTAMP"),
    ("BillingPeriodStart", "TIMESTAMP"),
    ("ChargeCategory", "VARCHAR"),
    ("ChargeClass", "VARCHAR"),
    ("ChargeDescription", "VARCHAR"),
    ("ChargeFrequency", "VARCHAR"),
    ("ChargePeriodEnd", "TIMESTAMP"),
    ("ChargePeriodStart", "TIMESTAMP"),
    ("CommitmentDiscountCategory", "VARCHAR"),
    ("CommitmentDiscountId", "VARCHAR"),
    ("CommitmentDiscountName", "VARCHAR"),
    ("CommitmentDiscountStatus", "VARCHAR"),
    ("CommitmentDiscountType", "VARCHAR"),
    ("CommitmentDiscountQuantity", "DOUBLE"),
    ("CommitmentDiscountUnit", "VARCHAR"),
    ("ConsumedQuantity", "DOUBLE"),
    ("ConsumedUnit", "VARCHAR"),
    ("ContractedCost", "DOUBLE"),
    ("ContractedUnitPrice", "DOUBLE"),
    ("EffectiveCost", "DOUBLE"),
    ("InvoiceIssuerName", "VARCHAR"),
    ("ListCost", "DOUBLE"),
    ("ListUnitPrice", "DOUBLE"),
    ("PricingCategory", "VARCHAR"),
    ("PricingQuantity", "DOUBLE"),
    ("PricingUnit", "VARCHAR"),
    ("ProviderName", "VARCHAR"),
    ("PublisherName", "VARCHAR"),
    ("RegionId", "VARCHAR"),
    ("RegionName", "VARCHAR"),
    ("ResourceId", "VARCHAR"),
    ("ResourceName", "VARCHAR"),
    ("ResourceType", "VARCHAR"),
    ("ServiceCategory", "VARCHAR"),
    ("ServiceSubcategory", "VARCHAR"),
    ("ServiceName", "VARCHAR"),
    ("SkuId", "VARCHAR"),
    ("SkuPriceId", "VARCHAR"),
    ("SubAccountId", "VARCHAR"),
    ("SubAccountName", "VARCHAR"),
    ("Tags", "MAP(VARCHAR, VARCHAR)"),
)

# Lineage columns the loader adds to every landing row.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_billing_period", "DATE"),  # first day of the billing period, from the delivery layout
    ("_export", "VARCHAR"),  # "<format>/<export name>": which export the row came from
    ("_delivery_id", "VARCHAR"),  # executionId / assemblyId / content hash of the delivery
    ("_source_file", "VARCHAR"),  # the data file, relative to the export location
    ("_loaded_at", "TIMESTAMP"),  # UTC
)


@dataclass(frozen=True)
class FormatSchema:
    """Columns of one landing format and the ones a delivery must have."""

    name: str
    columns: tuple[tuple[str, str], ...]
    required: tuple[str, ...]
    cost_columns: tuple[str, ...]
    # Columns whose values must parse as numbers when they are present.
    numeric_columns: tuple[str, ...]

    @property
    def landing_columns(self) -> tuple[tuple[str, str], ...]:
        return self.columns + LINEAGE_COLUMNS


def _numeric(columns: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return tuple(name for name, type_ in columns if type_ == "DOUBLE")


CUR_REQUIRED = (
    "identity_line_item_id",
    "bill_payer_account_id",
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_unblended_cost",
)

FOCUS_REQUIRED = (
    "BilledCost",
    "BillingAccountId",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargePeriodStart",
    "ServiceName",
)

SCHEMAS: dict[str, FormatSchema] = {
    CUR2: FormatSchema(CUR2, CUR_COLUMNS, CUR_REQUIRED, ("line_item_unblended_cost",), _numeric(CUR_COLUMNS)),
    CUR_LEGACY: FormatSchema(
        CUR_LEGACY, CUR_COLUMNS, CUR_REQUIRED, ("line_item_unblended_cost",), _numeric(CUR_COLUMNS)
    ),
    FOCUS: FormatSchema(FOCUS, FOCUS_COLUMNS, FOCUS_REQUIRED, ("BilledCost",), _numeric(FOCUS_COLUMNS)),
}


# --- the same contract for dbt targets that cannot read the files' own schema ------------------
# DuckDB reads landing parquet with the types stored in the files (and the zero-row
# ``_empty.parquet`` keeps a format typed before its first delivery). Spark skips files whose
# names start with ``_`` and cannot infer a schema from no files, so on Spark (and other
# non-DuckDB targets) dbt declares the landing tables with these columns (macro
# ``create_landing_relations``). The macro file below is generated from SCHEMAS;
# tests/test_landing_schema_macro.py fails when it is out of date.

DBT_LANDING_COLUMNS_MACRO = "dbt_project/macros/cross_db/landing_columns.sql"


def dbt_landing_columns_macro() -> str:
    """The dbt macro ``landing_columns(format)``: [[column, DuckDB type], ...] per format."""
    lines = [
        "{#- GENERATED from orchestration/landing_schema.py (the landing contract) by",
        "    `python -m orchestration.landing_schema`; do not edit by hand.",
        "    The landing columns and their DuckDB types, per format, for targets that declare",
        "    the landing tables themselves (see create_landing_relations). -#}",
        "{% macro landing_columns(format_name) -%}",
        "    {%- set columns = {",
    ]
    for format_name in FORMATS:
        lines.append(f"        '{format_name}': [")
        for name, type_ in SCHEMAS[format_name].landing_columns:
            lines.append(f"            ['{name}', '{type_}'],")
        lines.append("        ],")
    lines += [
        "    } -%}",
        "    {%- if format_name not in columns -%}",
        "        {{ exceptions.raise_compiler_error(\"landing_columns: unknown landing format '\" ~ format_name",
        "            ~ \"' (orchestration/landing_schema.py FORMATS)\") }}",
        "    {%- endif -%}",
        "    {{ return(columns[format_name]) }}",
        "{%- endmacro %}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m orchestration.landing_schema: regenerate the dbt macro
    from pathlib import Path

    target = Path(__file__).resolve().parents[1] / DBT_LANDING_COLUMNS_MACRO
    target.write_text(dbt_landing_columns_macro())
    print(f"wrote {target}")
