{#-
    Who receives each shared-cost pool and which share: one row per pool
    (rule × billing period × currency × scope value) × receiving team.
      proportional  weight = the team's direct effective cost in the same billing
                    period (and scope: same billing account / environment / all)
      even          weight = 1 for every team with direct cost in that scope
      fixed         weight from seed shared_cost_weights (receivers need no direct cost)
    Teams whose direct effective cost is zero or negative (credits exceeding usage)
    do not receive proportional or even splits: a negative weight would give a
    negative share and push the others above 100%. A pool without receivers has
    no rows here; int_shared_costs_split keeps it as 'unallocated'.
    Direct cost = cost allocated by tag, rule or account default (not the pools
    themselves), so pools never feed each other and the order of pools does not matter.
    Incremental per billing period (macros/incremental/billing_periods.sql): a period's
    pools, shares and splits come from that period's owned costs alone.
-#}
{{ config(**billing_period_incremental_config()) }}

with pools as (

    select distinct
        shared_cost_rule_name,
        split_method,
        receiver_scope,
        scope_value,
        billing_period,
        billing_currency
    from {{ ref('int_shared_cost_pools') }}
    where {{ billing_period_filter('billing_period') }}

),

owned_costs as (

    select * from {{ ref('int_cost_owners_resolved') }}
    where {{ billing_period_filter('billing_period') }}

),

shared_cost_weights as (

    select * from {{ ref('shared_cost_weights') }}

),

direct_costs as (

    select
        billing_period,
        billing_currency,
        team,
        billing_account_id,
        environment,
        sum(effective_cost) as direct_effective_cost
    from owned_costs
    where shared_cost_rule_name is null
        and team <> 'unallocated'
    group by billing_period, billing_currency, team, billing_account_id, environment

),

direct_costs_by_scope as (

    select
        'all' as receiver_scope,
        'all' as scope_value,
        billing_period,
        billing_currency,
        team,
        sum(direct_effective_cost) as direct_effective_cost
    from direct_costs
    group by billing_period, billing_currency, team

    union all

    select
        'billing_account' as receiver_scope,
        coalesce(billing_account_id, 'unallocated') as scope_value,
        billing_period,
        billing_currency,
        team,
        sum(direct_effective_cost) as direct_effective_cost
    from direct_costs
    group by coalesce(billing_account_id, 'unallocated'), billing_period, billing_currency, team

    union all

    select
        'environment' as receiver_scope,
        environment as scope_value,
        billing_period,
        billing_currency,
        team,
        sum(direct_effective_cost) as direct_effective_cost
    from direct_costs
    group by environment, billing_period, billing_currency, team

),

receivers_by_direct_cost as (

    select
        pools.*,
        direct_costs_by_scope.team,
        direct_costs_by_scope.direct_effective_cost,
        case pools.split_method
            when 'proportional' then direct_costs_by_scope.direct_effective_cost
            else 1.0
        end as weight
    from pools
    inner join direct_costs_by_scope
        on pools.receiver_scope = direct_costs_by_scope.receiver_scope
        and pools.scope_value = direct_costs_by_scope.scope_value
        and pools.billing_period = direct_costs_by_scope.billing_period
        and pools.billing_currency is not distinct from direct_costs_by_scope.billing_currency
    where pools.split_method in ('proportional', 'even')
        -- zero or negative direct cost: no share (see above)
        and direct_costs_by_scope.direct_effective_cost > 0

),

receivers_by_fixed_weight as (

    select
        pools.*,
        shared_cost_weights.team,
        direct_costs_by_scope.direct_effective_cost,
        cast(shared_cost_weights.weight as {{ dbt.type_float() }}) as weight
    from pools
    inner join shared_cost_weights
        on pools.shared_cost_rule_name = shared_cost_weights.rule_name
    left join direct_costs_by_scope
        on direct_costs_by_scope.receiver_scope = 'all'
        and pools.billing_period = direct_costs_by_scope.billing_period
        and pools.billing_currency is not distinct from direct_costs_by_scope.billing_currency
        and shared_cost_weights.team = direct_costs_by_scope.team
    where pools.split_method = 'fixed'
        and shared_cost_weights.weight > 0

),

receivers as (

    select * from receivers_by_direct_cost
    union all
    select * from receivers_by_fixed_weight

),

final as (

    select
        shared_cost_rule_name,
        split_method,
        receiver_scope,
        scope_value,
        billing_period,
        billing_currency,
        team,
        direct_effective_cost,
        weight,
        weight / sum(weight) over (
            partition by shared_cost_rule_name, scope_value, billing_period, billing_currency
        ) as share
    from receivers

)

select * from final
