with snapshots as (

    select * from {{ ref('int_team_cost_forecast_daily') }}

),

team_budgets as (

    select * from {{ ref('int_team_budgets_monthly') }}

),

latest as (

    -- the most recent snapshot of each period: data as of the last charge date loaded
    select
        billing_period,
        team,
        billing_currency,
        max(as_of_date) as as_of_date
    from snapshots
    group by billing_period, team, billing_currency

),

current_snapshot as (

    select snapshots.*
    from snapshots
    inner join latest
        on snapshots.billing_period = latest.billing_period
        and snapshots.team = latest.team
        and snapshots.billing_currency = latest.billing_currency
        and snapshots.as_of_date = latest.as_of_date

),

mid_month as (

    -- what was forecast with the data up to day N of the month
    select
        billing_period,
        team,
        billing_currency,
        forecast_cost as mid_month_forecast_cost
    from snapshots
    where days_elapsed = {{ var('forecast_accuracy_as_of_day') }}

),

final as (

    select
        current_snapshot.billing_period,
        current_snapshot.team,
        current_snapshot.billing_currency,
        current_snapshot.as_of_date,
        current_snapshot.days_elapsed,
        current_snapshot.days_in_period,
        current_snapshot.days_remaining = 0 as is_closed,
        current_snapshot.month_to_date_cost,
        current_snapshot.forecast_cost,
        current_snapshot.forecast_low,
        current_snapshot.forecast_high,
        team_budgets.budget,
        -- the one definition of "over budget": the budget KPI's team count, the budget alerts
        -- and the review pack read this flag
        coalesce(current_snapshot.forecast_cost > team_budgets.budget, false) as is_over_budget,
        current_snapshot.forecast_cost - team_budgets.budget as projected_variance,
        100 * (current_snapshot.forecast_cost - team_budgets.budget) / nullif(team_budgets.budget, 0)
            as projected_variance_pct,
        mid_month.mid_month_forecast_cost,
        case
            when current_snapshot.days_remaining = 0 and current_snapshot.month_to_date_cost > 0
            then 100 * (1 - abs(mid_month.mid_month_forecast_cost - current_snapshot.month_to_date_cost)
                / current_snapshot.month_to_date_cost)
        end as forecast_accuracy_pct
    from current_snapshot
    left join team_budgets
        on current_snapshot.billing_period = team_budgets.billing_period
        and current_snapshot.team = team_budgets.team
        and current_snapshot.billing_currency = team_budgets.billing_currency
    left join mid_month
        on current_snapshot.billing_period = mid_month.billing_period
        and current_snapshot.team = mid_month.team
        and current_snapshot.billing_currency = mid_month.billing_currency

)

select
    final.*,
    {{ period_status_columns('final.billing_period') }}
from final
