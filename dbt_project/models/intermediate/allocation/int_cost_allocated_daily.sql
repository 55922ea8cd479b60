{#-
    Direct costs (tag, rule, account default, or unallocated) plus the shared
    pools split to their receivers: every dollar of the counted line items
    exactly once, at the design grain.

    Incremental per billing period (macros/incremental/billing_periods.sql), like
    every model it reads: the shared-cost pools, shares and splits of a period are
    computed from that period's owned costs alone.
-#}
{{ config(**billing_period_incremental_config()) }}
{%- set dimensions = [
    'charge_date',
    'billing_account_id',
    'sub_account_id',
    'provider_name',
    'service_name',
    'charge_category',
    'team',
    'environment',
    'product',
    'cost_center',
] %}


with owned_costs as (

    select * from {{ ref('int_cost_owners_resolved') }}
    where {{ billing_period_filter('billing_period') }}

),

shared_costs_split as (

    select * from {{ ref('int_shared_costs_split') }}
    where {{ billing_period_filter('billing_period') }}

),

direct_costs as (

    select
        billing_period,
        {{ dimensions | join(',\n        ') }},
        allocation_method,
        billing_currency,
        billed_cost,
        effective_cost,
        list_cost,
        line_item_count
    from owned_costs
    where shared_cost_rule_name is null

),

split_costs as (

    select
        billing_period,
        {{ dimensions | join(',\n        ') }},
        allocation_method,
        billing_currency,
        billed_cost,
        effective_cost,
        list_cost,
        line_item_count
    from shared_costs_split

),

unioned as (

    select * from direct_costs
    union all
    select * from split_costs

),

labelled as (

    select
        billing_period,
        charge_date,
        {% for dimension in dimensions if dimension != 'charge_date' -%}
        coalesce({{ dimension }}, 'unallocated') as {{ dimension }},
        {% endfor -%}
        allocation_method,
        billing_currency,
        billed_cost,
        effective_cost,
        list_cost,
        line_item_count
    from unioned

),

aggregated as (

    select
        billing_period,
        {{ dimensions | join(',\n        ') }},
        allocation_method,
        billing_currency,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        sum(line_item_count) as line_item_count
    from labelled
    group by
        billing_period,
        {{ dimensions | join(',\n        ') }},
        allocation_method,
        billing_currency

),

final as (

    select * from aggregated

)

select * from final
