{#-
    EKS split cost allocation records (one per pod, hour and resource — vCPU or
    memory — in the CUR) of the counted exports, summed per day, node (the parent EC2
    instance), cluster, namespace and tag map: the pods' own view of their nodes' cost,
    as AWS computed it (docs/allocation.md#kubernetes).

    The pod name is summed away (the marts' grain is the workload); cluster and
    namespace come from the pod's resource id
    (arn:aws:eks:<region>:<account>:pod/<cluster>/<namespace>/<pod>/<uid>), the
    workload and labels from its tag map (int_kubernetes_pod_costs_daily).

    A read of the line items beside int_line_items_aggregated_daily, restricted to the
    pod records (a few columns of a few rows, so the other lines cost the parquet reader
    little): the aggregate has no split columns, and the pods are the only lines that
    need them. Incremental per billing period, on the landing data alone (no seed), so
    editing kubernetes_owners never re-reads the line items.
-#}
{{ config(**billing_period_incremental_config()) }}

with pod_records as (

    select * from {{ ref('int_line_items_unioned') }}
    where {{ billing_period_filter('billing_period') }}
        and operation = '{{ kubernetes_pod_operation() }}'

),

counted_exports as (

    select * from {{ ref('int_export_coverage_ranked') }}
    where is_counted
        and {{ billing_period_filter('billing_period') }}

),

counted_pod_records as (

    -- the pods of the exports that are counted, exactly like int_line_items_counted_daily
    select pod_records.*
    from pod_records
    inner join counted_exports
        on pod_records.export_name = counted_exports.export_name
        and pod_records.billing_period = counted_exports.billing_period
        and pod_records.billing_account_id is not distinct from counted_exports.billing_account_id
        and pod_records.provider_name is not distinct from counted_exports.provider_name

),

aggregated as (

    select
        billing_period,
        charge_date,
        billing_account_id,
        sub_account_id,
        provider_name,
        -- the product code until int_kubernetes_pod_costs_daily names it (seed aws_services)
        service_name,
        charge_category,
        billing_currency,
        split_parent_resource_id as node_resource_id,
        nullif({{ dbt.split_part('resource_id', "'/'", 2) }}, '') as arn_cluster_name,
        nullif({{ dbt.split_part('resource_id', "'/'", 3) }}, '') as arn_namespace,
        {{ map_key('tags') }} as tag_map_key,
        sum(case when usage_type like '%vCPU-Hours' then split_usage else 0 end) as vcpu_hours,
        sum(case when usage_type like '%GB-Hours' then split_usage else 0 end) as memory_gb_hours,
        sum(coalesce(split_cost, 0)) as aws_split_cost,
        sum(coalesce(split_unused_cost, 0)) as aws_unused_cost,
        sum(coalesce(split_public_on_demand_split_cost, 0)) as public_on_demand_split_cost,
        sum(coalesce(split_public_on_demand_unused_cost, 0)) as public_on_demand_unused_cost,
        -- AWS writes the net columns only when the account has a discount in the period
        sum(coalesce(split_net_split_cost, split_cost, 0)) as net_split_cost,
        sum(coalesce(split_net_unused_cost, split_unused_cost, 0)) as net_unused_cost,
        cast(count(*) as bigint) as line_item_count
    from counted_pod_records
    group by
        billing_period,
        charge_date,
        billing_account_id,
        sub_account_id,
        provider_name,
        service_name,
        charge_category,
        billing_currency,
        split_parent_resource_id,
        nullif({{ dbt.split_part('resource_id', "'/'", 2) }}, ''),
        nullif({{ dbt.split_part('resource_id', "'/'", 3) }}, ''),
        {{ map_key('tags') }}

),

final as (

    select * from aggregated

)

select * from final
