{#-
    Every daily pool row split over the teams its cost reaches, directly or through other
    pools (int_allocation_paths: the shared-cost graph solved, each origin pool's shares
    summed over the paths to a team):
    billed, effective and list cost times the share, allocation_method
    'shared_split', cost center and owner of the receiving team (seed teams).
    A pool without receivers stays one row with team 'unallocated' and method
    'unallocated', so it is visible rather than lost. Line items are
    apportioned as whole numbers (largest remainder), so counts still add up.
    Incremental per billing period (macros/incremental/billing_periods.sql): a period's
    pools, shares and splits come from that period's owned costs alone.
-#}
{{ config(**billing_period_incremental_config()) }}

with pools as (

    select * from {{ ref('int_shared_cost_pools') }}
    where {{ billing_period_filter('billing_period') }}

),

shares as (

    select
        origin_pool as shared_cost_rule_name,
        origin_scope as scope_value,
        billing_period,
        billing_currency,
        team,
        sum(share) as share
    from {{ ref('int_allocation_paths') }}
    where {{ billing_period_filter('billing_period') }}
    group by origin_pool, origin_scope, billing_period, billing_currency, team

),

teams as (

    select * from {{ ref('teams') }}

),

split as (

    select
        pools.*,
        shares.team as receiving_team,
        coalesce(shares.share, 1.0) as share,
        floor(pools.line_item_count * coalesce(shares.share, 1.0)) as base_line_item_count,
        pools.line_item_count * coalesce(shares.share, 1.0)
            - floor(pools.line_item_count * coalesce(shares.share, 1.0)) as line_item_remainder
    from pools
    left join shares
        on pools.shared_cost_rule_name = shares.shared_cost_rule_name
        and pools.scope_value = shares.scope_value
        and pools.billing_period = shares.billing_period
        and pools.billing_currency is not distinct from shares.billing_currency

),

apportioned as (

    select
        *,
        line_item_count - sum(base_line_item_count) over (
            partition by
                shared_cost_rule_name, scope_value, billing_period, charge_date, billing_account_id,
                sub_account_id, provider_name, service_name, charge_category, environment, product,
                billing_currency
        ) as line_items_left,
        row_number() over (
            partition by
                shared_cost_rule_name, scope_value, billing_period, charge_date, billing_account_id,
                sub_account_id, provider_name, service_name, charge_category, environment, product,
                billing_currency
            order by line_item_remainder desc, receiving_team
        ) as remainder_rank
    from split

),

final as (

    select
        apportioned.billing_period,
        apportioned.charge_date,
        apportioned.billing_account_id,
        apportioned.sub_account_id,
        apportioned.provider_name,
        apportioned.service_name,
        apportioned.charge_category,
        coalesce(apportioned.receiving_team, 'unallocated') as team,
        apportioned.environment,
        apportioned.product,
        coalesce(teams.cost_center, 'unallocated') as cost_center,
        coalesce(teams.owner, 'unallocated') as owner,
        -- no receiver at all, or the part of a pool caught in a closed cycle of pools
        case
            when coalesce(apportioned.receiving_team, 'unallocated') = 'unallocated' then 'unallocated'
            else 'shared_split'
        end as allocation_method,
        apportioned.shared_cost_rule_name,
        apportioned.split_method,
        apportioned.scope_value,
        apportioned.share,
        apportioned.billing_currency,
        apportioned.billed_cost * apportioned.share as billed_cost,
        apportioned.effective_cost * apportioned.share as effective_cost,
        apportioned.list_cost * apportioned.share as list_cost,
        cast(
            apportioned.base_line_item_count
            + case when apportioned.remainder_rank <= apportioned.line_items_left then 1 else 0 end
            as bigint
        ) as line_item_count
    from apportioned
    left join teams
        on apportioned.receiving_team = teams.team

)

select * from final
