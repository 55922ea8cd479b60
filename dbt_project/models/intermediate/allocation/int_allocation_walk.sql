{#-
    The shared-cost graph walked (the reciprocal method; int_allocation_paths turns the result
    into money and rounds it): for every pool with cost of its own (the origin), the share
    (mass) of its cost that reaches each team through each chain of pools (path). The mass of
    an origin starts at 1.0 on the origin; at each hop the mass sitting on a pool moves to its
    consumers by their shares (int_shared_cost_shares); what reaches a team stays there. Mass
    that never reaches a team (a closed cycle, a pool without receivers) is what
    int_allocation_paths reports as '<pool> (no team)'.

    Its own table so that int_allocation_paths, which reads the walk several times, plans it
    once: Spark's analyser inlines CTEs, and the unrolled hops repeated in every reader made
    a plan it could not finish. Incremental per billing period (macros/incremental/billing_periods.sql).
-#}
{{ config(**billing_period_incremental_config()) }}
{#- Spark's analyser cannot plan 50 unrolled hops in reasonable time (tried: a stack
    overflow, then minutes for one small period), so off DuckDB the walk defaults to 8 hops:
    exact for graphs whose chains are at most 8 pools long; a cycle's longer remainder stays
    visible as '<pool> (no team)' (docs/allocation.md). -#}
{%- set iterations = var('shared_cost_graph_iterations', 50 if target.type == 'duckdb' else 8) | int %}

with pool_costs as (

    select distinct
        shared_cost_rule_name,
        scope_value,
        billing_period,
        billing_currency
    from {{ ref('int_shared_cost_pools') }}
    where {{ billing_period_filter('billing_period') }}

),

edges as (

    select
        shared_cost_rule_name as from_pool,
        scope_value as from_scope,
        billing_period,
        billing_currency,
        consumer_kind,
        team as consumer,
        share
    from {{ ref('int_shared_cost_shares') }}
    where {{ billing_period_filter('billing_period') }}

),

walk_0 as (

    select
        shared_cost_rule_name as origin_pool,
        scope_value as origin_scope,
        billing_period,
        billing_currency,
        shared_cost_rule_name as current_pool,
        scope_value as current_scope,
        shared_cost_rule_name as path,
        cast(1.0 as {{ api.Column.translate_type('double') }}) as mass
    from pool_costs

),

{%- for hop in range(1, iterations + 1) %}

hop_{{ hop }} as (

    select
        walk.origin_pool,
        walk.origin_scope,
        walk.billing_period,
        walk.billing_currency,
        walk.path,
        edges.consumer_kind,
        edges.consumer,
        walk.mass * edges.share as mass
    from walk_{{ hop - 1 }} as walk
    inner join edges
        on walk.current_pool = edges.from_pool
        and walk.current_scope = edges.from_scope
        and walk.billing_period = edges.billing_period
        and walk.billing_currency is not distinct from edges.billing_currency

),

walk_{{ hop }} as (

    select
        origin_pool,
        origin_scope,
        billing_period,
        billing_currency,
        consumer as current_pool,
        'all' as current_scope,
        case
            when {{ dbt.position("' > ' || consumer || ' > '", "' > ' || path || ' > '") }} > 0 then path
            else path || ' > ' || consumer
        end as path,
        sum(mass) as mass
    from hop_{{ hop }}
    where consumer_kind = 'pool'
    group by
        origin_pool,
        origin_scope,
        billing_period,
        billing_currency,
        consumer,
        case
            when {{ dbt.position("' > ' || consumer || ' > '", "' > ' || path || ' > '") }} > 0 then path
            else path || ' > ' || consumer
        end

),
{%- endfor %}

reached_teams as (

    {%- for hop in range(1, iterations + 1) %}
    select origin_pool, origin_scope, billing_period, billing_currency, path, consumer as team, mass
    from hop_{{ hop }}
    where consumer_kind = 'team'
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

by_path as (

    select
        origin_pool,
        origin_scope,
        billing_period,
        billing_currency,
        path,
        team,
        sum(mass) as mass
    from reached_teams
    group by origin_pool, origin_scope, billing_period, billing_currency, path, team

),

final as (

    select * from by_path

)

select * from final
