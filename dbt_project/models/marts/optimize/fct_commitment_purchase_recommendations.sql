{#-
    How much Compute Savings Plan to buy, the whole curve and the best point, per lookback
    window (var commitment_lookback_days, default 7/30/60 days ending on the last day of
    eligible usage) and baseline:

    - as_is: the commitment-eligible on-demand usage as billed (the series AWS's own
      recommendation reads);
    - right_sized: the same after removing what the open previous-generation opportunities
      of the latest month would save (fct_savings_opportunities): right-size first, then commit.

    With one discount rate d (commitment rate = on-demand × (1 − d)), a commitment of c $/hour
    covers on-demand usage worth k = c / (1 − d) per hour; over H hours with eligible on-demand
    spend x_h the net saving is  Σ_h min(x_h, k) − H·c  (docs/optimize.md). It is piecewise
    linear in k with its kinks at the x_h, so the curve is evaluated at every distinct x_h (and
    0); the best point is the (d)-quantile of the series. d is the bill's own (latest month with
    Savings Plan covered usage, int_optimize_discount_rates_monthly), else seed optimize_prices.

    The warehouse keeps the bill per day, not per hour: x_h is the day's spend ÷ 24 for each of
    its 24 hours, which hides peaks within a day (is_approximation = true). A table rebuilt
    whole (history, small).
-#}
{{ config(materialized='table') }}
{%- set eligibility = var('commitment_eligibility')['Savings Plan'] %}
{%- set operations = var('commitment_eligible_operation_prefixes') %}
{%- set lookbacks = var('commitment_lookback_days', [7, 30, 60]) %}

with line_items as (

    select * from {{ ref('int_line_items_counted_daily') }}

),

eligible as (

    -- uncovered on-demand usage a Compute Savings Plan could cover (the eligibility of
    -- int_commitments_monthly: var commitment_eligibility)
    select charge_date, billing_period, resource_id, billing_currency, list_cost
    from line_items
    where charge_category = 'Usage'
        and commitment_discount_status is null
        and coalesce(pricing_category, 'Standard') = 'Standard'
        and service_name in ('{{ eligibility['services'] | join("', '") }}')
        and consumed_unit in ('{{ eligibility['units'] | join("', '") }}')
        and (
            operation is null
            {% for prefix in operations -%}
            or operation like '{{ prefix }}%'
            {% endfor -%}
        )

),

opportunities as (

    select * from {{ ref('fct_savings_opportunities') }}

),

-- what right-sizing removes: the share of each instance's cost its open previous-generation
-- opportunity saves (declined ones excluded; counted even where the commitment kind outranks it
-- on the resource, since the instance is moved first and then committed)
right_sizing as (

    select resource_id, max(estimated_monthly_saving / monthly_cost) as saving_share
    from opportunities
    where is_latest_period and kind = 'previous_generation_instance' and decision is null
    group by resource_id

),

days as (

    select distinct charge_date from line_items

),

bounds as (

    select min(charge_date) as first_date, max(charge_date) as last_date, max(billing_currency) as billing_currency
    from eligible

),

lookback_windows as (

    {% for lookback in lookbacks -%}
    select
        cast({{ lookback }} as bigint) as lookback_days,
        -- the window never starts before the bill does: days before it are unknown, not zero
        greatest(first_date, cast({{ dbt.dateadd('day', 1 - lookback, 'last_date') }} as date)) as window_start,
        last_date as window_end,
        billing_currency
    from bounds
    where last_date is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

daily_spend as (

    select
        eligible.charge_date,
        sum(eligible.list_cost) as as_is_cost,
        sum(eligible.list_cost * (1 - coalesce(right_sizing.saving_share, 0))) as right_sized_cost
    from eligible
    left join right_sizing on eligible.resource_id = right_sizing.resource_id
    group by eligible.charge_date

),

-- x_h: every day of the window (zero without eligible usage), its spend spread over 24 hours
series as (

    select
        lookback_windows.lookback_days,
        baselines.baseline,
        days.charge_date,
        case when baselines.baseline = 'as_is' then coalesce(daily_spend.as_is_cost, 0)
             else coalesce(daily_spend.right_sized_cost, 0) end / 24 as hourly_spend
    from lookback_windows
    cross join (select 'as_is' as baseline union all select 'right_sized' as baseline) as baselines
    inner join days
        on days.charge_date between lookback_windows.window_start and lookback_windows.window_end
    left join daily_spend on days.charge_date = daily_spend.charge_date

),

discount as (

    select
        coalesce(bill_rate.discount_rate, seed_rate.price) as discount_rate,
        case when bill_rate.discount_rate is not null then 'bill' else 'seed' end as discount_source
    from (select price from {{ ref('optimize_prices') }}
          where price_key = 'compute_savings_plan_discount' and region_id = '*') as seed_rate
    left join (
        select max(discount_rate) as discount_rate
        from {{ ref('int_optimize_discount_rates_monthly') }}
        where billing_period = (select max(billing_period) from {{ ref('int_optimize_discount_rates_monthly') }})
    ) as bill_rate on true

),

candidates as (

    select distinct lookback_days, baseline, hourly_spend as covered_per_hour from series
    union
    select distinct lookback_days, baseline, cast(0 as double) from series

),

curve as (

    select
        candidates.lookback_days,
        candidates.baseline,
        candidates.covered_per_hour,
        count(*) * 24 as hours,
        sum(series.hourly_spend) * 24 as on_demand_spend,
        sum(least(series.hourly_spend, candidates.covered_per_hour)) * 24 as covered_spend
    from candidates
    inner join series
        on candidates.lookback_days = series.lookback_days and candidates.baseline = series.baseline
    group by candidates.lookback_days, candidates.baseline, candidates.covered_per_hour

),

measured as (

    select
        curve.lookback_days,
        curve.baseline,
        curve.covered_per_hour * (1 - discount.discount_rate) as hourly_commitment,
        curve.covered_per_hour,
        curve.hours,
        curve.on_demand_spend,
        curve.covered_spend,
        100 * curve.covered_spend / nullif(curve.on_demand_spend, 0) as expected_coverage_pct,
        100 * curve.covered_spend / nullif(curve.hours * curve.covered_per_hour, 0) as expected_utilization_pct,
        curve.covered_spend - curve.hours * curve.covered_per_hour * (1 - discount.discount_rate)
            as expected_net_savings,
        discount.discount_rate,
        discount.discount_source
    from curve
    cross join discount

),

final as (

    select
        measured.lookback_days,
        measured.baseline,
        lookback_windows.window_start,
        lookback_windows.window_end,
        cast(measured.hours as bigint) as hours,
        measured.hourly_commitment,
        measured.covered_per_hour,
        measured.on_demand_spend,
        measured.covered_spend,
        measured.expected_coverage_pct,
        measured.expected_utilization_pct,
        measured.expected_net_savings,
        -- per month of 730 hours, to compare with the monthly marts
        measured.expected_net_savings * 730 / measured.hours as expected_net_savings_monthly,
        row_number() over (
            partition by measured.lookback_days, measured.baseline
            order by measured.expected_net_savings desc, measured.hourly_commitment
        ) = 1 as is_optimal,
        measured.discount_rate,
        measured.discount_source,
        true as is_approximation,
        'daily' as usage_granularity,
        lookback_windows.billing_currency
    from measured
    inner join lookback_windows on measured.lookback_days = lookback_windows.lookback_days

)

select * from final
