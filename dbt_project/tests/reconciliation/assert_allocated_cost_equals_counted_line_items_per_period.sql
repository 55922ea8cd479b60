-- Shown in Dagster as an asset check on fct_cost_allocated_daily.
{{ config(meta={'dagster': {'ref': {'name': 'fct_cost_allocated_daily'}}}) }}

-- Money is conserved (design.md invariant): per billing period and currency, the
-- allocation mart holds exactly the billed and effective cost of the counted line items,
-- to the cent (as summed per day in int_line_items_counted_daily, which
-- assert_no_line_item_vanishes_in_export_dedup reconciles with the line items). Returns the periods that differ.
with line_items as (

    select
        billing_period,
        billing_currency,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost
    from {{ ref('int_line_items_counted_daily') }}
    group by billing_period, billing_currency

),

allocated as (

    select
        billing_period,
        billing_currency,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost
    from {{ ref('fct_cost_allocated_daily') }}
    group by billing_period, billing_currency

),

compared as (

    select
        coalesce(line_items.billing_period, allocated.billing_period) as billing_period,
        coalesce(line_items.billing_currency, allocated.billing_currency) as billing_currency,
        line_items.billed_cost as line_items_billed_cost,
        allocated.billed_cost as allocated_billed_cost,
        line_items.effective_cost as line_items_effective_cost,
        allocated.effective_cost as allocated_effective_cost
    from line_items
    full outer join allocated
        on line_items.billing_period = allocated.billing_period
        and line_items.billing_currency is not distinct from allocated.billing_currency

)

select *
from compared
where abs(coalesce(line_items_billed_cost, 0) - coalesce(allocated_billed_cost, 0)) >= 0.005
    or abs(coalesce(line_items_effective_cost, 0) - coalesce(allocated_effective_cost, 0)) >= 0.005
