-- Shown in Dagster as an asset check on int_cost_owners_resolved.
{{ config(meta={'dagster': {'ref': {'name': 'int_cost_owners_resolved'}}}) }}

-- Resolving owners neither drops nor duplicates cost: per billing period the resolved
-- daily costs equal the daily sums of the line items (billed, effective, line items).
with summed as (

    select billing_period, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost,
        sum(line_item_count) as line_item_count
    from {{ ref('int_line_items_counted_daily') }}
    group by billing_period

),

resolved as (

    select billing_period, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost,
        sum(line_item_count) as line_item_count
    from {{ ref('int_cost_owners_resolved') }}
    group by billing_period

)

select
    coalesce(summed.billing_period, resolved.billing_period) as billing_period,
    summed.billed_cost as summed_billed_cost,
    resolved.billed_cost as resolved_billed_cost,
    summed.line_item_count as summed_line_item_count,
    resolved.line_item_count as resolved_line_item_count
from summed
full outer join resolved
    on summed.billing_period = resolved.billing_period
where abs(coalesce(summed.billed_cost, 0) - coalesce(resolved.billed_cost, 0)) >= 0.005
    or abs(coalesce(summed.effective_cost, 0) - coalesce(resolved.effective_cost, 0)) >= 0.005
    or coalesce(summed.line_item_count, 0) <> coalesce(resolved.line_item_count, 0)
