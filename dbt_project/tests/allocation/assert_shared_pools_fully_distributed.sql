-- Shown in Dagster as an asset check on int_shared_costs_split.
{{ config(meta={'dagster': {'ref': {'name': 'int_shared_costs_split'}}}) }}

-- Every shared pool is distributed exactly (design.md: splits add up to what was shared):
-- per pool and billing period, the split rows (to receivers, or the 'unallocated' row of a
-- pool without receivers) hold the pool's billed, effective and list cost to the cent and
-- all of its line items. Returns the pools that differ.
with pools as (

    select
        shared_cost_rule_name,
        scope_value,
        billing_period,
        billing_currency,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        sum(line_item_count) as line_item_count
    from {{ ref('int_shared_cost_pools') }}
    group by shared_cost_rule_name, scope_value, billing_period, billing_currency

),

split as (

    select
        shared_cost_rule_name,
        scope_value,
        billing_period,
        billing_currency,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        sum(line_item_count) as line_item_count
    from {{ ref('int_shared_costs_split') }}
    group by shared_cost_rule_name, scope_value, billing_period, billing_currency

)

select
    coalesce(pools.shared_cost_rule_name, split.shared_cost_rule_name) as shared_cost_rule_name,
    coalesce(pools.scope_value, split.scope_value) as scope_value,
    coalesce(pools.billing_period, split.billing_period) as billing_period,
    pools.billed_cost as pool_billed_cost,
    split.billed_cost as split_billed_cost,
    pools.effective_cost as pool_effective_cost,
    split.effective_cost as split_effective_cost,
    pools.line_item_count as pool_line_item_count,
    split.line_item_count as split_line_item_count
from pools
full outer join split
    on pools.shared_cost_rule_name = split.shared_cost_rule_name
    and pools.scope_value = split.scope_value
    and pools.billing_period = split.billing_period
    and pools.billing_currency is not distinct from split.billing_currency
where abs(coalesce(pools.billed_cost, 0) - coalesce(split.billed_cost, 0)) >= 0.005
    or abs(coalesce(pools.effective_cost, 0) - coalesce(split.effective_cost, 0)) >= 0.005
    or abs(coalesce(pools.list_cost, 0) - coalesce(split.list_cost, 0)) >= 0.005
    or coalesce(pools.line_item_count, 0) <> coalesce(split.line_item_count, 0)
