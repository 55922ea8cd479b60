{#-
    A dense daily cost series per team: every team that has cost in a billing currency gets
    a row for every charge date the warehouse has (0 where it had no cost that day), so
    trailing windows count days, not rows. The calendar is the set of charge dates present
    in fct_cost_allocated_daily: every day with any usage anywhere.
-#}

with allocated as (

    select * from {{ ref('int_cost_allocated_daily') }}

),

calendar as (

    select distinct billing_period, charge_date
    from allocated

),

teams as (

    select distinct team, billing_currency
    from allocated

),

daily as (

    select
        team,
        billing_currency,
        billing_period,
        charge_date,
        sum(effective_cost) as cost,
        sum(case when charge_category = 'Usage' then effective_cost else 0 end) as usage_cost
    from allocated
    group by team, billing_currency, billing_period, charge_date

),

final as (

    select
        teams.team,
        teams.billing_currency,
        calendar.billing_period,
        calendar.charge_date,
        coalesce(daily.cost, 0) as cost,
        coalesce(daily.usage_cost, 0) as usage_cost,
        coalesce(daily.cost, 0) - coalesce(daily.usage_cost, 0) as non_usage_cost
    from calendar
    cross join teams
    left join daily
        on teams.team = daily.team
        and teams.billing_currency = daily.billing_currency
        and calendar.billing_period = daily.billing_period
        and calendar.charge_date = daily.charge_date

)

select * from final
