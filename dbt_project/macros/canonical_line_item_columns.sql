{#-
    The canonical, FOCUS-aligned line-item columns, in order. Every staging
    model of a billing format outputs exactly these; the intermediate union
    selects them by name. One list, so a new column is added in one place
    (plus the staging models and the yml docs).
-#}
{% macro canonical_line_item_columns() -%}
    {{ return([
        'line_item_id',
        'source_format',
        'export_name',
        'delivery_id',
        'source_file',
        'billing_period',
        'charge_period_start',
        'charge_period_end',
        'charge_date',
        'provider_name',
        'billing_account_id',
        'billing_account_name',
        'sub_account_id',
        'sub_account_name',
        'service_code',
        'service_name',
        'service_category',
        'charge_category',
        'charge_class',
        'line_item_type',
        'usage_type',
        'operation',
        'resource_id',
        'region_id',
        'availability_zone',
        'pricing_category',
        'consumed_quantity',
        'consumed_unit',
        'billed_cost',
        'effective_cost',
        'list_cost',
        'billing_currency',
        'commitment_discount_id',
        'commitment_discount_type',
        'commitment_discount_category',
        'commitment_discount_status',
        'unused_commitment_cost',
        'tags',
    ]) }}
{%- endmacro %}
