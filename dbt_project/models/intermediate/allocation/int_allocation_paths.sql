{#-
    The shared-cost graph solved: for every pool with cost of its own (the origin), which
    share of its cost reaches which team, and through which chain of pools.

    One hop is int_shared_cost_shares (a pool's consumers: teams, or other pools for usage
    pools). Cost a pool receives from another pool is split again like its own cost, so a
    dollar of the shared database may reach a team directly, or through the data platform,
    or through the data platform and back through the database (cycles are allowed). This is
    the reciprocal method: each pool's total cost T = its own cost + sum(T of the pools it
    is consumed by × their share to it), a linear system. It is solved here by walking the
    graph (int_allocation_walk): the mass of each origin starts at 1.0 on the origin; at each
    hop the mass sitting on a pool moves to its consumers by their shares; what reaches a team
    stays there. After
    var shared_cost_graph_iterations hops (default 50 on DuckDB, 8 on Spark, unrolled in
    int_allocation_walk into plain joins) the mass still on pools is at most r^50 of the
    origin's cost, where r < 1 is the largest share any cycle keeps among pools: for
    r <= 0.5, under 1e-15. A remainder below `tolerance` (1e-9 of the pool) is spread over
    the teams in proportion (so each pool is distributed exactly); a larger remainder means
    a closed cycle that never reaches a team (or a pool without any receiver), and it is kept as
    team 'unallocated' with path '<origin> (no team)' so it stays visible instead of lost.

    The path is the chain of pools a share went through, origin first ('shared-database >
    data-platform'); a pool met again (a cycle) is not repeated, so the number of paths stays
    finite. Sum of share over an origin = 1.

    Money: each row carries the exact billed and effective cost (pool cost × share) and the
    same rounded to the cent with the largest-remainder rule, in two steps: first the pools
    of a period × currency (so the period's rounded pool totals add up to its rounded total),
    then each pool's cents over its rows (so every pool is distributed to the cent).
    Incremental per billing period (macros/incremental/billing_periods.sql).
-#}
{{ config(**billing_period_incremental_config()) }}
{%- set tolerance = 0.000000001 %}
{%- set node = ['shared_cost_rule_name', 'scope_value', 'billing_period', 'billing_currency'] %}

with pool_costs as (

    select
        shared_cost_rule_name,
        scope_value,
        billing_period,
        billing_currency,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost
    from {{ ref('int_shared_cost_pools') }}
    where {{ billing_period_filter('billing_period') }}
    group by shared_cost_rule_name, scope_value, billing_period, billing_currency

),

by_path as (

    select * from {{ ref('int_allocation_walk') }}
    where {{ billing_period_filter('billing_period') }}

),

reached_totals as (

    select origin_pool, origin_scope, billing_period, billing_currency, sum(mass) as reached
    from by_path
    group by origin_pool, origin_scope, billing_period, billing_currency

),

-- the share of an origin's cost that never reached a team: a closed cycle (or no consumers)
unreached as (

    select
        pool_costs.shared_cost_rule_name as origin_pool,
        pool_costs.scope_value as origin_scope,
        pool_costs.billing_period,
        pool_costs.billing_currency,
        pool_costs.shared_cost_rule_name || ' (no team)' as path,
        'unallocated' as team,
        1.0 - coalesce(reached_totals.reached, 0) as mass
    from pool_costs
    left join reached_totals
        on pool_costs.shared_cost_rule_name = reached_totals.origin_pool
        and pool_costs.scope_value = reached_totals.origin_scope
        and pool_costs.billing_period = reached_totals.billing_period
        and pool_costs.billing_currency is not distinct from reached_totals.billing_currency
    where 1.0 - coalesce(reached_totals.reached, 0) > {{ tolerance }}

),

shares as (

    -- below the tolerance the remainder is spread in proportion (divide by what reached
    -- teams); above it, the remainder is its own 'unallocated' row and nothing is rescaled
    select
        by_path.origin_pool,
        by_path.origin_scope,
        by_path.billing_period,
        by_path.billing_currency,
        by_path.path,
        by_path.team,
        case
            when 1.0 - reached_totals.reached > {{ tolerance }} then by_path.mass
            else by_path.mass / reached_totals.reached
        end as share
    from by_path
    inner join reached_totals
        on by_path.origin_pool = reached_totals.origin_pool
        and by_path.origin_scope = reached_totals.origin_scope
        and by_path.billing_period = reached_totals.billing_period
        and by_path.billing_currency is not distinct from reached_totals.billing_currency

    union all

    select origin_pool, origin_scope, billing_period, billing_currency, path, team, mass as share
    from unreached

),

amounts as (

    select
        shares.*,
        {{ dbt.length("shares.path") }} - {{ dbt.length(dbt.replace("shares.path", "'>'", "''")) }} as hops,
        pool_costs.billed_cost * shares.share as billed_cost,
        pool_costs.effective_cost * shares.share as effective_cost,
        pool_costs.billed_cost as pool_billed_cost,
        pool_costs.effective_cost as pool_effective_cost
    from shares
    inner join pool_costs
        on shares.origin_pool = pool_costs.shared_cost_rule_name
        and shares.origin_scope = pool_costs.scope_value
        and shares.billing_period = pool_costs.billing_period
        and shares.billing_currency is not distinct from pool_costs.billing_currency

),

{#- Largest remainder, step 1: pool totals in cents that add up to the period's rounded total -#}
{%- for measure in ['billed', 'effective'] %}

{{ measure }}_pool_cents as (

    select
        *,
        cast(round(sum({{ measure }}_cost) over (partition by billing_period, billing_currency) * 100, 0)
            as {{ dbt.type_bigint() }}) as period_cents,
        floor({{ measure }}_cost * 100) as floor_cents,
        {{ measure }}_cost * 100 - floor({{ measure }}_cost * 100) as remainder
    from (
        select distinct origin_pool, origin_scope, billing_period, billing_currency,
            pool_{{ measure }}_cost as {{ measure }}_cost
        from amounts
    ) as pools

),

{{ measure }}_pool_rounded as (

    select
        origin_pool,
        origin_scope,
        billing_period,
        billing_currency,
        cast(floor_cents as {{ dbt.type_bigint() }})
            + case
                when row_number() over (
                    partition by billing_period, billing_currency
                    order by remainder desc, origin_pool, origin_scope
                ) <= period_cents - sum(floor_cents) over (partition by billing_period, billing_currency)
                then 1 else 0
            end as pool_cents
    from {{ measure }}_pool_cents

),

{#- step 2: each pool's cents over its rows (teams × paths), by the same rule -#}
{{ measure }}_row_cents as (

    select
        amounts.origin_pool,
        amounts.origin_scope,
        amounts.billing_period,
        amounts.billing_currency,
        amounts.path,
        amounts.team,
        {{ measure }}_pool_rounded.pool_cents,
        floor({{ measure }}_pool_rounded.pool_cents * amounts.share) as floor_cents,
        {{ measure }}_pool_rounded.pool_cents * amounts.share
            - floor({{ measure }}_pool_rounded.pool_cents * amounts.share) as remainder
    from amounts
    inner join {{ measure }}_pool_rounded
        on amounts.origin_pool = {{ measure }}_pool_rounded.origin_pool
        and amounts.origin_scope = {{ measure }}_pool_rounded.origin_scope
        and amounts.billing_period = {{ measure }}_pool_rounded.billing_period
        and amounts.billing_currency is not distinct from {{ measure }}_pool_rounded.billing_currency

),

{{ measure }}_rounded as (

    select
        origin_pool,
        origin_scope,
        billing_period,
        billing_currency,
        path,
        team,
        cast(floor_cents as {{ dbt.type_bigint() }})
            + case
                when row_number() over (
                    partition by origin_pool, origin_scope, billing_period, billing_currency
                    order by remainder desc, team, path
                ) <= pool_cents - sum(floor_cents) over (
                    partition by origin_pool, origin_scope, billing_period, billing_currency)
                then 1 else 0
            end as cents
    from {{ measure }}_row_cents

),
{%- endfor %}

final as (

    select
        amounts.billing_period,
        amounts.billing_currency,
        amounts.team,
        amounts.origin_pool,
        amounts.origin_scope,
        amounts.path,
        amounts.hops,
        amounts.share,
        amounts.billed_cost,
        amounts.effective_cost,
        cast(billed_rounded.cents as {{ api.Column.translate_type('double') }}) / 100 as billed_cost_rounded,
        cast(effective_rounded.cents as {{ api.Column.translate_type('double') }}) / 100 as effective_cost_rounded
    from amounts
    inner join billed_rounded
        on amounts.origin_pool = billed_rounded.origin_pool
        and amounts.origin_scope = billed_rounded.origin_scope
        and amounts.billing_period = billed_rounded.billing_period
        and amounts.billing_currency is not distinct from billed_rounded.billing_currency
        and amounts.path = billed_rounded.path
        and amounts.team = billed_rounded.team
    inner join effective_rounded
        on amounts.origin_pool = effective_rounded.origin_pool
        and amounts.origin_scope = effective_rounded.origin_scope
        and amounts.billing_period = effective_rounded.billing_period
        and amounts.billing_currency is not distinct from effective_rounded.billing_currency
        and amounts.path = effective_rounded.path
        and amounts.team = effective_rounded.team

)

select * from final
