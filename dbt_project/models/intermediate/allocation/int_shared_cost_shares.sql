{#-
    One hop of the shared-cost graph: who consumes each shared-cost pool and which share.
    One row per pool (rule × billing period × currency × scope value) × consumer, where a
    consumer is a team or, for usage pools, another pool (consumer_kind 'pool', scope 'all').
      proportional  weight = the team's direct effective cost in the same billing
                    period (and scope: same billing account / environment / all)
      even          weight = 1 for every team with direct cost in that scope
      fixed         weight from seed shared_cost_weights (receivers need no direct cost)
      usage         weight = the consumer's quantity in the usage drivers of the period
                    (stg_usage__drivers); a period without driver rows for the pool falls
                    back to the rule's fallback_split_method (default proportional), shown
                    in applied_split_method and counted by rpt_allocation_completeness
    Teams whose direct effective cost is zero or negative (credits exceeding usage)
    do not receive proportional or even splits: a negative weight would give a
    negative share and push the others above 100%. A pool without receivers has
    no rows here; int_shared_costs_split keeps it as 'unallocated'.
    Direct cost = cost allocated by tag, rule or account default (not the pools
    themselves), so proportional weights never depend on other pools. Pools that are
    consumed by other pools get a node at scope 'all' even in a period where they have
    no cost of their own; int_allocation_paths walks the graph to the teams.
    Incremental per billing period (macros/incremental/billing_periods.sql): a period's
    pools, shares and splits come from that period's owned costs alone.
-#}
{{ config(**billing_period_incremental_config()) }}

with pools_with_cost as (

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

shared_cost_rules as (

    select * from {{ ref('shared_cost_rules') }}

),

usage_drivers as (

    select * from {{ ref('stg_usage__drivers') }}
    where {{ billing_period_filter('billing_period') }}
        and quantity > 0

),

-- a pool another pool consumes, in every currency of that period's pools: its node
-- receives the consumed cost at scope 'all' (docs/allocation.md)
consumed_pools as (

    select distinct
        shared_cost_rules.rule_name as shared_cost_rule_name,
        shared_cost_rules.split_method,
        'all' as receiver_scope,
        'all' as scope_value,
        usage_drivers.billing_period,
        currencies.billing_currency
    from usage_drivers
    inner join shared_cost_rules
        on usage_drivers.consumer = shared_cost_rules.rule_name
    inner join (select distinct billing_period, billing_currency from pools_with_cost) as currencies
        on usage_drivers.billing_period = currencies.billing_period

),

nodes as (

    select * from pools_with_cost
    union
    select * from consumed_pools

),

drivers_per_pool as (

    select billing_period, pool, sum(quantity) as quantity
    from usage_drivers
    group by billing_period, pool

),

-- which split applies: a usage pool with no driver rows in the period falls back
pools as (

    select
        nodes.*,
        case
            when nodes.split_method <> 'usage' then nodes.split_method
            when drivers_per_pool.pool is not null then 'usage'
            else coalesce(nullif(trim(shared_cost_rules.fallback_split_method), ''), 'proportional')
        end as applied_split_method
    from nodes
    inner join shared_cost_rules
        on nodes.shared_cost_rule_name = shared_cost_rules.rule_name
    left join drivers_per_pool
        on nodes.shared_cost_rule_name = drivers_per_pool.pool
        and nodes.billing_period = drivers_per_pool.billing_period

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
        'team' as consumer_kind,
        case pools.applied_split_method
            when 'proportional' then direct_costs_by_scope.direct_effective_cost
            else 1.0
        end as weight
    from pools
    inner join direct_costs_by_scope
        on pools.receiver_scope = direct_costs_by_scope.receiver_scope
        and pools.scope_value = direct_costs_by_scope.scope_value
        and pools.billing_period = direct_costs_by_scope.billing_period
        and pools.billing_currency is not distinct from direct_costs_by_scope.billing_currency
    where pools.applied_split_method in ('proportional', 'even')
        -- zero or negative direct cost: no share (see above)
        and direct_costs_by_scope.direct_effective_cost > 0

),

receivers_by_fixed_weight as (

    select
        pools.*,
        shared_cost_weights.team,
        direct_costs_by_scope.direct_effective_cost,
        'team' as consumer_kind,
        cast(shared_cost_weights.weight as {{ dbt.type_float() }}) as weight
    from pools
    inner join shared_cost_weights
        on pools.shared_cost_rule_name = shared_cost_weights.rule_name
    left join direct_costs_by_scope
        on direct_costs_by_scope.receiver_scope = 'all'
        and pools.billing_period = direct_costs_by_scope.billing_period
        and pools.billing_currency is not distinct from direct_costs_by_scope.billing_currency
        and shared_cost_weights.team = direct_costs_by_scope.team
    where pools.applied_split_method = 'fixed'
        and shared_cost_weights.weight > 0

),

receivers_by_usage as (

    select
        pools.*,
        usage_drivers.consumer as team,
        direct_costs_by_scope.direct_effective_cost,
        case when shared_cost_rules.rule_name is null then 'team' else 'pool' end as consumer_kind,
        usage_drivers.quantity as weight
    from pools
    inner join usage_drivers
        on pools.shared_cost_rule_name = usage_drivers.pool
        and pools.billing_period = usage_drivers.billing_period
    left join shared_cost_rules
        on usage_drivers.consumer = shared_cost_rules.rule_name
    left join direct_costs_by_scope
        on direct_costs_by_scope.receiver_scope = 'all'
        and pools.billing_period = direct_costs_by_scope.billing_period
        and pools.billing_currency is not distinct from direct_costs_by_scope.billing_currency
        and usage_drivers.consumer = direct_costs_by_scope.team
    where pools.applied_split_method = 'usage'

),

receivers as (

    select * from receivers_by_direct_cost
    union all
    select * from receivers_by_fixed_weight
    union all
    select * from receivers_by_usage

),

final as (

    select
        shared_cost_rule_name,
        split_method,
        receiver_scope,
        scope_value,
        billing_period,
        billing_currency,
        applied_split_method,
        consumer_kind,
        team,
        direct_effective_cost,
        weight,
        weight / sum(weight) over (
            partition by shared_cost_rule_name, scope_value, billing_period, billing_currency
        ) as share
    from receivers

)

select * from final
