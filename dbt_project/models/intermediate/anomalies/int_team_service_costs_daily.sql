{#-
    Daily usage cost per team and service, dense: from the first day a team × service has
    usage, one row per charge date the warehouse has (0 on days without usage), so a
    baseline window counts days. Usage only: purchases, tax, credits and fees are scheduled
    charges, not anomalies (the monthly fee lines would otherwise alert every month).
-#}

with allocated as (

    select * from {{ ref('int_cost_allocated_daily') }}
    where charge_category = 'Usage'

),

calendar as (

    select distinct charge_date
    from {{ ref('int_cost_allocated_daily') }}

),

daily as (

    select
        team,
        service_name,
        billing_currency,
        charge_date,
        sum(effective_cost) as usage_cost
    from allocated
    group by team, service_name, billing_currency, charge_date

),

series as (

    select
        team,
        service_name,
        billing_currency,
        min(charge_date) as first_charge_date
    from daily
    group by team, service_name, billing_currency

),

final as (

    select
        series.team,
        series.service_name,
        series.billing_currency,
        calendar.charge_date,
        coalesce(daily.usage_cost, 0) as usage_cost,
        -- 0 = Monday ... 6 = Sunday, computed portably from a known Monday
        case
            when mod({{ dbt.datediff("cast('2000-01-03' as date)", 'calendar.charge_date', 'day') }}, 7) >= 5
            then 'weekend'
            else 'weekday'
        end as day_type
    from series
    inner join calendar
        on calendar.charge_date >= series.first_charge_date
    left join daily
        on series.team = daily.team
        and series.service_name = daily.service_name
        and series.billing_currency = daily.billing_currency
        and calendar.charge_date = daily.charge_date

)

select * from final
