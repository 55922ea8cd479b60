{#-
    Month-end forecast snapshots, backtested: for every team and every day of every billing
    period, the forecast a person would have seen with the data up to that day (as_of_date).
    Nothing after as_of_date is used, so the history of forecasts exists on the first build and
    forecast accuracy can be measured as soon as a month closes.

    forecast = month_to_date_cost
             + days_remaining * run_rate          (mean daily usage cost, last N days, may reach
                                                   into the previous month: day 1 has history)
             + expected_non_usage_remaining       (last month's purchases/tax/credits/fees not yet
                                                   posted this month, never negative; 0 on the last day)
    band     = forecast -/+ z * stddev(daily usage cost, last 2N days) * sqrt(days_remaining),
               low never below month_to_date_cost.
    On the last day of a month days_remaining = 0: forecast = month to date, band collapsed.
-#}
{%- set n = var('forecast_run_rate_days') | int %}

with daily as (

    select * from {{ ref('int_team_costs_daily') }}

),

period_non_usage as (

    select
        team,
        billing_currency,
        billing_period,
        sum(non_usage_cost) as non_usage_cost
    from daily
    group by team, billing_currency, billing_period

),

windowed as (

    select
        team,
        billing_currency,
        billing_period,
        charge_date as as_of_date,
        sum(cost) over (
            partition by team, billing_currency, billing_period order by charge_date
            rows between unbounded preceding and current row
        ) as month_to_date_cost,
        sum(non_usage_cost) over (
            partition by team, billing_currency, billing_period order by charge_date
            rows between unbounded preceding and current row
        ) as month_to_date_non_usage_cost,
        avg(usage_cost) over (
            partition by team, billing_currency order by charge_date
            rows between {{ n - 1 }} preceding and current row
        ) as run_rate,
        count(*) over (
            partition by team, billing_currency order by charge_date
            rows between {{ n - 1 }} preceding and current row
        ) as run_rate_days,
        stddev_samp(usage_cost) over (
            partition by team, billing_currency order by charge_date
            rows between {{ 2 * n - 1 }} preceding and current row
        ) as daily_usage_stddev
    from daily

),

with_calendar as (

    select
        windowed.*,
        {{ dbt.datediff('windowed.billing_period', dbt.dateadd('month', 1, 'windowed.billing_period'), 'day') }}
            as days_in_period,
        {{ dbt.datediff('windowed.billing_period', 'windowed.as_of_date', 'day') }} + 1 as days_elapsed,
        prior.non_usage_cost as prior_period_non_usage_cost
    from windowed
    left join period_non_usage as prior
        on windowed.team = prior.team
        and windowed.billing_currency = prior.billing_currency
        and prior.billing_period = {{ dbt.dateadd('month', -1, 'windowed.billing_period') }}

),

forecast as (

    select
        *,
        days_in_period - days_elapsed as days_remaining,
        case
            -- on the last day what has posted is the month (late fees arrive as restatements)
            when days_in_period = days_elapsed then 0
            when coalesce(prior_period_non_usage_cost, 0) > month_to_date_non_usage_cost
            then coalesce(prior_period_non_usage_cost, 0) - month_to_date_non_usage_cost
            else 0
        end as expected_non_usage_remaining
    from with_calendar

),

banded as (

    select
        *,
        month_to_date_cost + (days_in_period - days_elapsed) * run_rate + expected_non_usage_remaining
            as forecast_cost,
        {{ var('forecast_band_z') }} * coalesce(daily_usage_stddev, 0) * sqrt(days_in_period - days_elapsed)
            as band_half_width
    from forecast

),

final as (

    select
        as_of_date,
        team,
        billing_currency,
        billing_period,
        days_in_period,
        days_elapsed,
        days_remaining,
        month_to_date_cost,
        run_rate,
        run_rate_days,
        daily_usage_stddev,
        expected_non_usage_remaining,
        forecast_cost,
        case
            when forecast_cost - band_half_width > month_to_date_cost then forecast_cost - band_half_width
            else month_to_date_cost
        end as forecast_low,
        forecast_cost + band_half_width as forecast_high
    from banded

)

select * from final
