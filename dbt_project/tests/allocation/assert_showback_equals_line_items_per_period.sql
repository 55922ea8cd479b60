-- Shown in Dagster as an asset check on rpt_showback_monthly.
{{ config(meta={'dagster': {'ref': {'name': 'rpt_showback_monthly'}}}) }}

-- Money is conserved through showback: per billing period and currency, the teams'
-- total (effective) and billed cost, 'unallocated' included, equal the counted line
-- items to the cent (as summed per day in int_line_items_counted_daily, which
-- assert_no_line_item_vanishes_in_export_dedup reconciles with the line items), and direct + shared = total on every row.
with line_items as (

    select
        billing_period,
        billing_currency,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost
    from {{ ref('int_line_items_counted_daily') }}
    group by billing_period, billing_currency

),

showback as (

    select
        billing_period,
        billing_currency,
        sum(billed_cost) as billed_cost,
        sum(total_cost) as effective_cost,
        max(abs(direct_cost + shared_cost - total_cost)) as worst_row_difference
    from {{ ref('rpt_showback_monthly') }}
    group by billing_period, billing_currency

)

select
    coalesce(line_items.billing_period, showback.billing_period) as billing_period,
    line_items.billed_cost as line_items_billed_cost,
    showback.billed_cost as showback_billed_cost,
    line_items.effective_cost as line_items_effective_cost,
    showback.effective_cost as showback_effective_cost,
    showback.worst_row_difference
from line_items
full outer join showback
    on line_items.billing_period = showback.billing_period
    and line_items.billing_currency is not distinct from showback.billing_currency
where abs(coalesce(line_items.billed_cost, 0) - coalesce(showback.billed_cost, 0)) >= 0.005
    or abs(coalesce(line_items.effective_cost, 0) - coalesce(showback.effective_cost, 0)) >= 0.005
    or showback.worst_row_difference >= 0.005
