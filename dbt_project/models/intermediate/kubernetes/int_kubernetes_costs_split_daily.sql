{#-
    The nodes' cost (int_kubernetes_node_costs_daily) re-allocated to their pods and to
    each cluster's idle pool: what int_cost_owners_resolved books instead of the nodes.

    Per node and day (the warehouse's daily grain: AWS's own split is hourly, and the
    day's sums conserve what the hours do), with N the node's effective (amortized) cost
    that day and s_g the split cost AWS gives each pod group g (cluster × namespace ×
    workload × team) on it, S = Σ s_g:
        split share of g  σ_g = s_g / max(N, S)      (= s_g / N normally: a pod costs its split cost)
        idle share        ι   = 1 − Σ σ_g            (the capacity no pod was allocated)
    Each of the node's lines (billed, effective, list) is multiplied by σ_g for every g
    (allocation_method 'kubernetes_split') and by ι into the cluster's idle pool, so
    Σ σ_g + ι = 1 and the node's cost is booked exactly once, to the cent. S > N (AWS
    rounding, or a node whose amortized cost the bill spreads differently) scales the
    pods down and leaves no idle; a node with no cost leaves nothing to split.

    The idle pool of a cluster and day is split (allocation_method 'kubernetes_idle') by
    seed kubernetes_idle_rules: `proportional` (default) to the pod groups' split cost on
    the cluster that day, or `team` to one team; a pool with no receiver goes to the
    node's owner. Line items: the pods' own records stay on their pod group (cost 0, as
    staged), the node's lines are apportioned over the idle receivers as whole numbers
    (largest remainder), so counts add up too.

    Incremental per billing period; seeds kubernetes_owners / kubernetes_idle_rules / teams
    rebuild every period.
-#}
{{ config(**billing_period_incremental_config()) }}
{%- set line_grain = ['billing_period', 'charge_date', 'billing_account_id', 'sub_account_id', 'provider_name',
                      'service_name', 'charge_category', 'billing_currency'] %}
{%- set receiver_columns = ['namespace', 'workload_name', 'workload_type', 'team', 'team_source',
                            'environment', 'product'] %}

with pod_costs as (

    select * from {{ ref('int_kubernetes_pod_costs_daily') }}
    where {{ billing_period_filter('billing_period') }}

),

node_costs as (

    select * from {{ ref('int_kubernetes_node_costs_daily') }}
    where {{ billing_period_filter('billing_period') }}

),

idle_rules as (

    select
        nullif(trim(cluster_name), '') as cluster_name,
        trim(split_method) as split_method,
        nullif(trim(team), '') as team
    from {{ ref('kubernetes_idle_rules') }}

),

teams as (

    select * from {{ ref('teams') }}

),

node_totals as (

    select
        billing_period,
        charge_date,
        node_resource_id,
        sum(effective_cost) as node_effective_cost
    from node_costs
    group by billing_period, charge_date, node_resource_id

),

pod_groups as (

    select
        billing_period,
        charge_date,
        node_resource_id,
        cluster_name,
        {{ receiver_columns | join(',\n        ') }},
        sum(aws_split_cost) as aws_split_cost
    from pod_costs
    where node_resource_id is not null
    group by
        billing_period,
        charge_date,
        node_resource_id,
        cluster_name,
        {{ receiver_columns | join(',\n        ') }}

),

pod_totals as (

    select
        billing_period,
        charge_date,
        node_resource_id,
        -- a node belongs to one cluster
        max(cluster_name) as cluster_name,
        sum(aws_split_cost) as pods_split_cost
    from pod_groups
    group by billing_period, charge_date, node_resource_id

),

split_shares as (

    select
        pod_groups.*,
        case
            when greatest(node_totals.node_effective_cost, pod_totals.pods_split_cost) > 0
                then pod_groups.aws_split_cost
                    / greatest(node_totals.node_effective_cost, pod_totals.pods_split_cost)
            else 0
        end as split_share
    from pod_groups
    inner join pod_totals
        on pod_groups.billing_period = pod_totals.billing_period
        and pod_groups.charge_date = pod_totals.charge_date
        and pod_groups.node_resource_id = pod_totals.node_resource_id
    inner join node_totals
        on pod_groups.billing_period = node_totals.billing_period
        and pod_groups.charge_date = node_totals.charge_date
        and pod_groups.node_resource_id = node_totals.node_resource_id

),

idle_shares as (

    select
        pod_totals.billing_period,
        pod_totals.charge_date,
        pod_totals.node_resource_id,
        pod_totals.cluster_name,
        1.0 - coalesce(split_sums.split_share, 0) as idle_share
    from pod_totals
    left join (
        select billing_period, charge_date, node_resource_id, sum(split_share) as split_share
        from split_shares
        group by billing_period, charge_date, node_resource_id
    ) as split_sums
        on pod_totals.billing_period = split_sums.billing_period
        and pod_totals.charge_date = split_sums.charge_date
        and pod_totals.node_resource_id = split_sums.node_resource_id

),

split_rows as (

    select
        {% for column in line_grain -%}
        node_costs.{{ column }},
        {% endfor -%}
        split_shares.cluster_name,
        {% for column in receiver_columns -%}
        split_shares.{{ column }},
        {% endfor -%}
        'kubernetes_split' as allocation_method,
        node_costs.billed_cost * split_shares.split_share as billed_cost,
        node_costs.effective_cost * split_shares.split_share as effective_cost,
        node_costs.list_cost * split_shares.split_share as list_cost,
        cast(0 as bigint) as line_item_count
    from node_costs
    inner join split_shares
        on node_costs.billing_period = split_shares.billing_period
        and node_costs.charge_date = split_shares.charge_date
        and node_costs.node_resource_id = split_shares.node_resource_id

),

pod_record_rows as (

    -- the pods' own records: no cost of their own (staging), their count stays with them
    select
        {% for column in line_grain -%}
        {{ column }},
        {% endfor -%}
        cluster_name,
        {{ receiver_columns | join(',\n        ') }},
        'kubernetes_split' as allocation_method,
        cast(0 as double) as billed_cost,
        cast(0 as double) as effective_cost,
        cast(0 as double) as list_cost,
        line_item_count
    from pod_costs

),

idle_pools as (

    select
        {% for column in line_grain -%}
        node_costs.{{ column }},
        {% endfor -%}
        idle_shares.cluster_name,
        node_costs.node_team,
        node_costs.node_environment,
        node_costs.node_product,
        sum(node_costs.billed_cost * idle_shares.idle_share) as billed_cost,
        sum(node_costs.effective_cost * idle_shares.idle_share) as effective_cost,
        sum(node_costs.list_cost * idle_shares.idle_share) as list_cost,
        sum(node_costs.line_item_count) as line_item_count
    from node_costs
    inner join idle_shares
        on node_costs.billing_period = idle_shares.billing_period
        and node_costs.charge_date = idle_shares.charge_date
        and node_costs.node_resource_id = idle_shares.node_resource_id
    group by
        {% for column in line_grain -%}
        node_costs.{{ column }},
        {% endfor -%}
        idle_shares.cluster_name,
        node_costs.node_team,
        node_costs.node_environment,
        node_costs.node_product

),

idle_methods as (

    select
        idle_pools.*,
        coalesce(cluster_rules.split_method, default_rules.split_method, 'proportional') as idle_split_method,
        case
            when cluster_rules.split_method is not null then cluster_rules.team
            else default_rules.team
        end as idle_rule_team
    from idle_pools
    left join idle_rules as cluster_rules
        on idle_pools.cluster_name = cluster_rules.cluster_name
    left join idle_rules as default_rules
        on default_rules.cluster_name is null

),

proportional_receivers as (

    -- the pod groups with split cost on the cluster that day, weighted by it
    select
        billing_period,
        charge_date,
        cluster_name,
        {{ receiver_columns | join(',\n        ') }},
        sum(effective_cost) as weight
    from split_rows
    group by
        billing_period,
        charge_date,
        cluster_name,
        {{ receiver_columns | join(',\n        ') }}
    having sum(effective_cost) > 0

),

receiver_shares as (

    select
        *,
        weight / sum(weight) over (partition by billing_period, charge_date, cluster_name) as share
    from proportional_receivers

),

idle_split as (

    select
        idle_methods.*,
        receiver_shares.namespace as receiver_namespace,
        receiver_shares.workload_name as receiver_workload_name,
        receiver_shares.workload_type as receiver_workload_type,
        receiver_shares.team as receiver_team,
        receiver_shares.team_source as receiver_team_source,
        receiver_shares.environment as receiver_environment,
        receiver_shares.product as receiver_product,
        coalesce(receiver_shares.share, 1.0) as share,
        floor(idle_methods.line_item_count * coalesce(receiver_shares.share, 1.0)) as base_line_item_count,
        idle_methods.line_item_count * coalesce(receiver_shares.share, 1.0)
            - floor(idle_methods.line_item_count * coalesce(receiver_shares.share, 1.0)) as line_item_remainder
    from idle_methods
    left join receiver_shares
        on idle_methods.idle_split_method = 'proportional'
        and idle_methods.billing_period = receiver_shares.billing_period
        and idle_methods.charge_date = receiver_shares.charge_date
        and idle_methods.cluster_name = receiver_shares.cluster_name

),

idle_apportioned as (

    select
        *,
        line_item_count - sum(base_line_item_count) over (
            partition by {{ line_grain | join(', ') }}, cluster_name, node_team, node_environment, node_product
        ) as line_items_left,
        row_number() over (
            partition by {{ line_grain | join(', ') }}, cluster_name, node_team, node_environment, node_product
            order by line_item_remainder desc, receiver_team, receiver_namespace, receiver_workload_name
        ) as remainder_rank
    from idle_split

),

idle_rows as (

    select
        {% for column in line_grain -%}
        {{ column }},
        {% endfor -%}
        cluster_name,
        coalesce(receiver_namespace, '(idle)') as namespace,
        coalesce(receiver_workload_name, '(idle)') as workload_name,
        coalesce(receiver_workload_type, '(idle)') as workload_type,
        case
            when receiver_team is not null then receiver_team
            when idle_split_method = 'team' and idle_rule_team is not null then idle_rule_team
            else node_team
        end as team,
        case
            when receiver_team is not null then receiver_team_source
            when idle_split_method = 'team' and idle_rule_team is not null then 'idle_rule'
            else 'node_owner'
        end as team_source,
        coalesce(receiver_environment, node_environment) as environment,
        coalesce(receiver_product, node_product) as product,
        'kubernetes_idle' as allocation_method,
        billed_cost * share as billed_cost,
        effective_cost * share as effective_cost,
        list_cost * share as list_cost,
        cast(
            base_line_item_count + case when remainder_rank <= line_items_left then 1 else 0 end
            as bigint
        ) as line_item_count
    from idle_apportioned

),

unioned as (

    select * from split_rows
    union all
    select * from pod_record_rows
    union all
    select * from idle_rows

),

aggregated as (

    select
        {% for column in line_grain -%}
        unioned.{{ column }},
        {% endfor -%}
        unioned.cluster_name,
        {% for column in receiver_columns -%}
        unioned.{{ column }},
        {% endfor -%}
        coalesce(teams.cost_center, 'unallocated') as cost_center,
        coalesce(teams.owner, 'unallocated') as owner,
        unioned.allocation_method,
        sum(unioned.billed_cost) as billed_cost,
        sum(unioned.effective_cost) as effective_cost,
        sum(unioned.list_cost) as list_cost,
        sum(unioned.line_item_count) as line_item_count
    from unioned
    left join teams
        on unioned.team = teams.team
    group by
        {% for column in line_grain -%}
        unioned.{{ column }},
        {% endfor -%}
        unioned.cluster_name,
        {% for column in receiver_columns -%}
        unioned.{{ column }},
        {% endfor -%}
        coalesce(teams.cost_center, 'unallocated'),
        coalesce(teams.owner, 'unallocated'),
        unioned.allocation_method

),

final as (

    select * from aggregated

)

select * from final
