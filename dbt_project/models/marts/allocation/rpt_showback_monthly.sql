{#-
    The showback statement: per billing period and team, what the team costs
    (amortized), split into its direct cost and its share of shared costs, with
    last month beside it. Every team of seed teams appears in every period (at
    0 when it had no cost), and 'unallocated' is a row of its own (0 when all
    was allocated), so the report always adds up to the bill.
-#}
-- depends_on: {{ ref('fct_tag_coverage_monthly') }}

with allocated as (

    select * from {{ ref('fct_cost_allocated_daily') }}

),

teams as (

    select * from {{ ref('teams') }}

),

team_budgets as (

    select * from {{ ref('int_team_budgets_monthly') }}

),

team_tagging as (

    -- the team's untagged share of its taggable spend: the KPI untagged_cost_pct per team
    -- (semantic layer), not a second definition
    {{ semantic_metric_values(['untagged_cost_pct'], ['billing_period', 'billing_currency', 'team']) | indent(4) }}

),

team_costs as (

    select
        billing_period,
        billing_currency,
        team,
        sum(case when allocation_method <> 'shared_split' then effective_cost else 0 end) as direct_cost,
        sum(case when allocation_method = 'shared_split' then effective_cost else 0 end) as shared_cost,
        sum(effective_cost) as total_cost,
        sum(billed_cost) as billed_cost
    from allocated
    group by billing_period, billing_currency, team

),

periods as (

    select distinct billing_period, billing_currency from team_costs

),

team_spine as (

    select periods.billing_period, periods.billing_currency, teams.team
    from periods
    cross join teams

    union

    -- always shown, at 0 when everything was allocated
    select billing_period, billing_currency, 'unallocated' as team from periods

    union

    select billing_period, billing_currency, team from team_costs

),

team_periods as (

    select
        team_spine.billing_period,
        team_spine.billing_currency,
        team_spine.team,
        coalesce(team_costs.direct_cost, 0) as direct_cost,
        coalesce(team_costs.shared_cost, 0) as shared_cost,
        coalesce(team_costs.total_cost, 0) as total_cost,
        coalesce(team_costs.billed_cost, 0) as billed_cost
    from team_spine
    left join team_costs
        on team_spine.billing_period = team_costs.billing_period
        and team_spine.billing_currency is not distinct from team_costs.billing_currency
        and team_spine.team = team_costs.team

),

with_prior_period as (

    select
        current_period.*,
        prior_period.total_cost as prior_period_cost
    from team_periods as current_period
    left join team_periods as prior_period
        on current_period.team = prior_period.team
        and current_period.billing_currency is not distinct from prior_period.billing_currency
        and prior_period.billing_period = {{ dbt.dateadd('month', -1, 'current_period.billing_period') }}

),

final as (

    select
        with_prior_period.billing_period,
        with_prior_period.team,
        with_prior_period.direct_cost,
        with_prior_period.shared_cost,
        with_prior_period.total_cost,
        with_prior_period.billed_cost,
        with_prior_period.prior_period_cost,
        case
            when with_prior_period.prior_period_cost is null or with_prior_period.prior_period_cost = 0 then null
            else 100.0 * (with_prior_period.total_cost - with_prior_period.prior_period_cost) / abs(with_prior_period.prior_period_cost)
        end as change_pct,
        team_budgets.budget,
        with_prior_period.total_cost - team_budgets.budget as budget_variance,
        team_tagging.untagged_cost_pct,
        with_prior_period.billing_currency
    from with_prior_period
    left join team_budgets
        on with_prior_period.billing_period = team_budgets.billing_period
        and with_prior_period.team = team_budgets.team
        and with_prior_period.billing_currency = team_budgets.billing_currency
    left join team_tagging
        on with_prior_period.billing_period = team_tagging.billing_period
        and with_prior_period.billing_currency is not distinct from team_tagging.billing_currency
        and with_prior_period.team = team_tagging.team

)

select
    final.*,
    {{ period_status_columns('final.billing_period') }}
from final
