-- The budget of each team for each billing period it has cost in: a budgets row
-- naming the period overrides the team's default row (billing_period empty).
with team_costs as (

    select * from {{ ref('int_team_costs_daily') }}

),

budgets as (

    select * from {{ ref('budgets') }}

),

team_periods as (

    select distinct billing_period, team, billing_currency
    from team_costs

),

final as (

    select
        team_periods.billing_period,
        team_periods.team,
        team_periods.billing_currency,
        coalesce(
            max(case when budgets.billing_period = team_periods.billing_period then budgets.budget_amount end),
            max(case when budgets.billing_period is null then budgets.budget_amount end)
        ) as budget
    from team_periods
    inner join budgets
        on team_periods.team = budgets.team
        and team_periods.billing_currency = budgets.billing_currency
    group by team_periods.billing_period, team_periods.team, team_periods.billing_currency

)

select * from final
