{#-
    Robust, weekday-aware anomaly detection on daily usage cost per team × service.
    For each day, the baseline is the same day type (weekday / weekend) in the
    var('anomaly_baseline_days') days before it (the day itself excluded):
        expected_cost = median of the baseline
        sigma         = max(1.4826 * MAD, anomaly_min_relative_sigma * |median|, 0.01)
        score         = (actual - expected) / sigma
    A day is flagged when it has >= anomaly_min_baseline_points baseline days, its score is
    >= anomaly_threshold_score and its excess over expected is >= anomaly_min_cost. Only
    increases alert. A median ignores a single low day, so the day after a drop is judged
    against the usual level, not against the drop.
-#}
{%- set baseline_days = var('anomaly_baseline_days') | int %}

with daily as (

    select * from {{ ref('int_team_service_costs_daily') }}

),

teams as (

    select * from {{ ref('teams') }}

),

baseline_points as (

    select
        day.team,
        day.service_name,
        day.billing_currency,
        day.charge_date,
        baseline.charge_date as baseline_date,
        baseline.usage_cost as baseline_cost
    from daily as day
    inner join daily as baseline
        on day.team = baseline.team
        and day.service_name = baseline.service_name
        and day.billing_currency = baseline.billing_currency
        and day.day_type = baseline.day_type
        and baseline.charge_date < day.charge_date
        and baseline.charge_date >= {{ dbt.dateadd('day', -baseline_days, 'day.charge_date') }}

),

medians as (

    select
        team,
        service_name,
        billing_currency,
        charge_date,
        min(baseline_date) as baseline_window_start,
        max(baseline_date) as baseline_window_end,
        count(*) as baseline_points,
        percentile_cont(0.5) within group (order by baseline_cost) as baseline_median
    from baseline_points
    group by team, service_name, billing_currency, charge_date

),

mads as (

    select
        baseline_points.team,
        baseline_points.service_name,
        baseline_points.billing_currency,
        baseline_points.charge_date,
        percentile_cont(0.5) within group (
            order by abs(baseline_points.baseline_cost - medians.baseline_median)
        ) as baseline_mad
    from baseline_points
    inner join medians
        on baseline_points.team = medians.team
        and baseline_points.service_name = medians.service_name
        and baseline_points.billing_currency = medians.billing_currency
        and baseline_points.charge_date = medians.charge_date
    group by baseline_points.team, baseline_points.service_name, baseline_points.billing_currency,
        baseline_points.charge_date

),

scored as (

    select
        daily.charge_date,
        daily.team,
        daily.service_name,
        daily.billing_currency,
        daily.day_type as baseline_day_type,
        medians.baseline_window_start,
        medians.baseline_window_end,
        medians.baseline_points,
        medians.baseline_median,
        mads.baseline_mad,
        daily.usage_cost as actual_cost,
        medians.baseline_median as expected_cost,
        greatest(
            1.4826 * mads.baseline_mad,
            {{ var('anomaly_min_relative_sigma') }} * abs(medians.baseline_median),
            0.01
        ) as sigma
    from daily
    inner join medians
        on daily.team = medians.team
        and daily.service_name = medians.service_name
        and daily.billing_currency = medians.billing_currency
        and daily.charge_date = medians.charge_date
    inner join mads
        on daily.team = mads.team
        and daily.service_name = mads.service_name
        and daily.billing_currency = mads.billing_currency
        and daily.charge_date = mads.charge_date

),

flagged as (

    select
        *,
        (actual_cost - expected_cost) / sigma as score,
        actual_cost - expected_cost as excess_cost,
        greatest(expected_cost - {{ var('anomaly_threshold_score') }} * sigma, 0) as lower_bound,
        expected_cost + {{ var('anomaly_threshold_score') }} * sigma as upper_bound
    from scored
    where baseline_points >= {{ var('anomaly_min_baseline_points') }}
        and actual_cost - expected_cost >= {{ var('anomaly_min_cost') }}
        and (actual_cost - expected_cost) / sigma >= {{ var('anomaly_threshold_score') }}

),

final as (

    select
        flagged.charge_date,
        cast({{ dbt.date_trunc('month', 'flagged.charge_date') }} as date) as billing_period,
        flagged.team,
        flagged.service_name,
        flagged.billing_currency,
        flagged.actual_cost,
        flagged.expected_cost,
        flagged.excess_cost,
        flagged.lower_bound,
        flagged.upper_bound,
        flagged.score,
        case
            when flagged.score >= {{ var('anomaly_severity_high_score') }} then 'high'
            when flagged.score >= {{ var('anomaly_severity_medium_score') }} then 'medium'
            else 'low'
        end as severity,
        flagged.baseline_day_type,
        flagged.baseline_window_start,
        flagged.baseline_window_end,
        flagged.baseline_points,
        flagged.baseline_median,
        flagged.baseline_mad,
        flagged.sigma,
        coalesce(teams.owner, 'unallocated') as owner,
        coalesce(teams.alert_channel, 'unallocated') as alert_channel
    from flagged
    left join teams
        on flagged.team = teams.team

)

select * from final
