{#-
    The daily costs allocation starts from: the counted exports' line items
    summed per day and per attribute an allocation rule can match (~0.7M rows
    for 10M line items); everything downstream (rule matching, shared-cost
    splits, the marts) works on this table or smaller. usage_type and
    resource_id stay because rules can match on them; they are dropped in
    int_cost_owners_resolved.

    Incremental per billing period (macros/incremental): a period is rebuilt
    when its line items were re-read or when a seed or model it depends on
    (tag aliases, AWS service names, export precedence) changed.
-#}
{{ config(**billing_period_incremental_config()) }}
{%- set taxonomy = var('tag_taxonomy') %}
{%- set attributes = [
    'billing_period',
    'charge_date',
    'billing_account_id',
    'sub_account_id',
    'provider_name',
    'service_name',
    'charge_category',
    'usage_type',
    'resource_id',
    'billing_currency',
] %}
{%- set period_versions = upstream_period_versions(ref('int_line_items_aggregated_daily'),
                                                   ['tag_taxonomy', 'export_precedence']) %}
{%- set periods = billing_periods_to_build(period_versions) %}

with daily_line_items as (

    select * from {{ ref('int_line_items_counted_daily') }}
    where {{ billing_period_filter('billing_period', periods) }}

),

period_versions as (

    {{ period_versions }}

),

summed as (

    select
        {% for attribute in attributes -%}
        {{ attribute }},
        {% endfor -%}
        {% for taxonomy_key in taxonomy -%}
        {{ taxonomy_key }} as tag_{{ taxonomy_key }},
        {% endfor -%}
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        cast(sum(line_item_count) as bigint) as line_item_count
    from daily_line_items
    group by
        {% for attribute in attributes -%}
        {{ attribute }},
        {% endfor -%}
        {% for taxonomy_key in taxonomy -%}
        {{ taxonomy_key }}{% if not loop.last %},{% endif %}
        {% endfor %}

),

final as (

    {{ select_with_build_version('summed') }}

)

select * from final
