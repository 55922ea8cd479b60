{#-
    The one read of the line items (10M+ a month). Each export's lines are summed
    per day and per every attribute any downstream model needs, with the tag map
    reduced to its 64-bit key; everything else (export de-duplication, tag and
    service resolution, allocation, commitments, completeness) works on this
    table or smaller.

    The maps themselves are in int_line_items_tag_maps, one row per period and
    key (see there why they are not a column here).

    Incremental per billing period (macros/incremental/billing_periods.sql): a run
    re-reads only the months it is for (the orchestrator passes the months whose
    delivery changed). On purpose it depends on the landing data alone — no seed,
    no var — so editing the configuration never forces a re-read of the line items.
-#}
{{ config(**billing_period_incremental_config()) }}

{%- set attributes = [
    'billing_period',
    'charge_date',
    'source_format',
    'export_name',
    'provider_name',
    'billing_account_id',
    'sub_account_id',
    'service_code',
    'service_name',
    'service_category',
    'charge_category',
    'line_item_type',
    'usage_type',
    'operation',
    'resource_id',
    'region_id',
    'pricing_category',
    'consumed_unit',
    'commitment_discount_type',
    'commitment_discount_status',
    'billing_currency',
] %}

with line_items as (

    select * from {{ ref('int_line_items_unioned') }}
    where {{ billing_period_filter('billing_period') }}

),

aggregated as (

    select
        {% for attribute in attributes -%}
        {{ attribute }},
        {% endfor -%}
        {{ map_key('tags') }} as tag_map_key,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        sum(unused_commitment_cost) as unused_commitment_cost,
        -- usage amounts (GB-months, hours, GB, LCU-hours, requests...) for the Optimize rules;
        -- summed within one usage_type, so within one unit
        sum(consumed_quantity) as consumed_quantity,
        cast(count(*) as bigint) as line_item_count
    from line_items
    group by
        {% for attribute in attributes -%}
        {{ attribute }},
        {% endfor -%}
        {{ map_key('tags') }}

),

final as (

    select * from aggregated

)

select * from final
