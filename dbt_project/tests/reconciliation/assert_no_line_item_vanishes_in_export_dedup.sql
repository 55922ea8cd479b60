-- Shown in Dagster as an asset check on int_export_overlaps.
{{ config(meta={'dagster': {'ref': {'name': 'int_export_overlaps'}}}) }}

-- Nothing vanishes silently: per billing period, the line items the allocation starts
-- from (int_line_items_counted_daily: counted exports, summed per day through the daily
-- aggregate, de-duplication and tag resolution) plus the overlapping exports reported
-- in int_export_overlaps add up to everything the three staging models hold (rows,
-- billed and effective cost to the cent). Checked on the billing periods of the run
-- (macros/incremental/billing_periods.sql; all without): the staging side reads every
-- line item of them.
{%- set periods = requested_billing_periods() %}
with staged as (

    {% for model_name in ['stg_aws_cur__cur2_line_items', 'stg_aws_cur__legacy_line_items', 'stg_focus__line_items'] -%}
    select billing_period, billed_cost, effective_cost
    from {{ ref(model_name) }}
    where {{ billing_period_filter('billing_period', periods=periods) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

staged_totals as (

    select
        billing_period,
        count(*) as line_item_count,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost
    from staged
    group by billing_period

),

accounted as (

    select billing_period, line_item_count, billed_cost, effective_cost
    from {{ ref('int_line_items_counted_daily') }}
    where {{ billing_period_filter('billing_period', periods=periods) }}
    union all
    select billing_period, line_item_count, billed_cost, effective_cost
    from {{ ref('int_export_overlaps') }}
    where {{ billing_period_filter('billing_period', periods=periods) }}

),

accounted_totals as (

    select
        billing_period,
        sum(line_item_count) as line_item_count,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost
    from accounted
    group by billing_period

),

compared as (

    select
        coalesce(staged_totals.billing_period, accounted_totals.billing_period) as billing_period,
        staged_totals.line_item_count as staged_line_items,
        accounted_totals.line_item_count as accounted_line_items,
        staged_totals.billed_cost as staged_billed_cost,
        accounted_totals.billed_cost as accounted_billed_cost,
        staged_totals.effective_cost as staged_effective_cost,
        accounted_totals.effective_cost as accounted_effective_cost
    from staged_totals
    full outer join accounted_totals
        on staged_totals.billing_period = accounted_totals.billing_period

)

select *
from compared
where coalesce(staged_line_items, 0) <> coalesce(accounted_line_items, 0)
    or abs(coalesce(staged_billed_cost, 0) - coalesce(accounted_billed_cost, 0)) >= 0.005
    or abs(coalesce(staged_effective_cost, 0) - coalesce(accounted_effective_cost, 0)) >= 0.005
