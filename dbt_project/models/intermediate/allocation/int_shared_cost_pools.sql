{#-
    The shared costs, at daily × pool grain. A pool is one shared_cost_rules
    row × billing period × currency × scope value (the billing account or the
    environment the receivers must share with it, or 'all'). The team that
    happens to own the pool's account is dropped: the split decides who pays.
    Incremental per billing period (macros/incremental/billing_periods.sql): a period's
    pools, shares and splits come from that period's owned costs alone.
-#}
{{ config(**billing_period_incremental_config()) }}
{%- set grain = [
    'billing_period',
    'charge_date',
    'billing_account_id',
    'sub_account_id',
    'provider_name',
    'service_name',
    'charge_category',
    'environment',
    'product',
    'billing_currency',
] %}

with owned_costs as (

    select * from {{ ref('int_cost_owners_resolved') }}
    where shared_cost_rule_name is not null
        and {{ billing_period_filter('billing_period') }}

),

shared_cost_rules as (

    select * from {{ ref('shared_cost_rules') }}

),

scoped as (

    select
        owned_costs.*,
        shared_cost_rules.split_method,
        shared_cost_rules.receiver_scope,
        case shared_cost_rules.receiver_scope
            when 'billing_account' then coalesce(owned_costs.billing_account_id, 'unallocated')
            when 'environment' then owned_costs.environment
            else 'all'
        end as scope_value
    from owned_costs
    inner join shared_cost_rules
        on owned_costs.shared_cost_rule_name = shared_cost_rules.rule_name

),

aggregated as (

    select
        shared_cost_rule_name,
        split_method,
        receiver_scope,
        scope_value,
        {{ grain | join(',\n        ') }},
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        sum(line_item_count) as line_item_count
    from scoped
    group by
        shared_cost_rule_name,
        split_method,
        receiver_scope,
        scope_value,
        {{ grain | join(',\n        ') }}

)

select * from aggregated
