{#-
    The pods of int_kubernetes_pod_usage_daily with their cluster, namespace, workload
    and owning team. Cluster and namespace: the pod's `aws:eks:*` tags, else its
    resource id; workload: `aws:eks:workload-name` / `-type`. Team, first that applies
    (team_source):
      pod_tag         the pod's own team tag (a label activated as a cost allocation
                      tag, matched by seed tag_key_aliases like every tag)
      label_rule      a kubernetes_owners row whose label the pod carries
      namespace_rule  the kubernetes_owners row of the pod's namespace
      node_owner      the team of its node (the cluster's own tags, rules, account default)
    A row naming the cluster wins over one for any cluster. Environment and product:
    the pod's tags, else its node's.

    Incremental per billing period; a kubernetes_owners or tag alias edit rebuilds every
    period from int_kubernetes_pod_usage_daily (the line items are not read again).
-#}
{{ config(**billing_period_incremental_config()) }}
{%- set eks_tags = {
    'cluster_name': 'aws_eks_cluster_name',
    'namespace': 'aws_eks_namespace',
    'workload_name': 'aws_eks_workload_name',
    'workload_type': 'aws_eks_workload_type',
} %}

with pod_usage as (

    select * from {{ ref('int_kubernetes_pod_usage_daily') }}
    where {{ billing_period_filter('billing_period') }}

),

node_costs as (

    select * from {{ ref('int_kubernetes_node_costs_daily') }}
    where {{ billing_period_filter('billing_period') }}

),

tag_maps as (

    select * from {{ ref('int_tag_maps_resolved') }}

),

kubernetes_owners as (

    select
        nullif(trim(cluster_name), '') as cluster_name,
        nullif(trim(namespace), '') as namespace,
        nullif(trim(label_key), '') as label_key,
        lower(nullif(trim(label_value), '')) as label_value,
        trim(team) as team
    from {{ ref('kubernetes_owners') }}

),

aws_services as (

    select * from {{ ref('aws_services') }}

),

pod_tag_maps as (

    select
        tag_maps.tag_map_key,
        tag_maps.tags,
        tag_maps.team as tag_team,
        tag_maps.environment as tag_environment,
        tag_maps.product as tag_product
    from tag_maps
    where tag_maps.tag_map_key in (select tag_map_key from pod_usage)

),

pod_tag_entries as (

    {{ explode_map('pod_tag_maps', 'tags', ['tag_map_key'], 'tag_key', 'tag_value') }}

),

normalized_entries as (

    select
        tag_map_key,
        {{ normalize_tag_key('tag_key') }} as normalized_key,
        trim(tag_value) as tag_value
    from pod_tag_entries
    where nullif(trim(tag_value), '') is not null

),

eks_tags as (

    select
        tag_map_key,
        {% for column, key in eks_tags.items() -%}
        max(case when normalized_key = '{{ key }}' then tag_value end) as {{ column }}
        {%- if not loop.last %},{% endif %}
        {% endfor %}
    from normalized_entries
    group by tag_map_key

),

pods as (

    select
        pod_usage.*,
        coalesce(eks_tags.cluster_name, pod_usage.arn_cluster_name, 'unknown') as cluster_name,
        coalesce(eks_tags.namespace, pod_usage.arn_namespace, 'unknown') as namespace,
        coalesce(eks_tags.workload_name, '(none)') as workload_name,
        coalesce(eks_tags.workload_type, '(none)') as workload_type,
        pod_tag_maps.tag_team,
        pod_tag_maps.tag_environment,
        pod_tag_maps.tag_product
    from pod_usage
    left join eks_tags
        on pod_usage.tag_map_key = eks_tags.tag_map_key
    left join pod_tag_maps
        on pod_usage.tag_map_key = pod_tag_maps.tag_map_key

),

pod_keys as (

    select distinct cluster_name, namespace, tag_map_key
    from pods

),

label_matches as (

    select
        pod_keys.cluster_name,
        pod_keys.namespace,
        pod_keys.tag_map_key,
        kubernetes_owners.team,
        row_number() over (
            partition by pod_keys.cluster_name, pod_keys.namespace, pod_keys.tag_map_key
            order by
                case when kubernetes_owners.cluster_name is null then 1 else 0 end,
                case when kubernetes_owners.namespace is null then 1 else 0 end,
                kubernetes_owners.label_key,
                kubernetes_owners.label_value
        ) as rule_rank
    from pod_keys
    inner join normalized_entries
        on pod_keys.tag_map_key = normalized_entries.tag_map_key
    inner join kubernetes_owners
        on kubernetes_owners.label_key is not null
        and {{ normalize_tag_key('kubernetes_owners.label_key') }} = normalized_entries.normalized_key
        and kubernetes_owners.label_value = lower(normalized_entries.tag_value)
        and (kubernetes_owners.cluster_name is null or kubernetes_owners.cluster_name = pod_keys.cluster_name)
        and (kubernetes_owners.namespace is null or kubernetes_owners.namespace = pod_keys.namespace)

),

namespace_matches as (

    select
        namespaces.cluster_name,
        namespaces.namespace,
        kubernetes_owners.team,
        row_number() over (
            partition by namespaces.cluster_name, namespaces.namespace
            order by case when kubernetes_owners.cluster_name is null then 1 else 0 end
        ) as rule_rank
    from (select distinct cluster_name, namespace from pods) as namespaces
    inner join kubernetes_owners
        on kubernetes_owners.label_key is null
        and kubernetes_owners.namespace = namespaces.namespace
        and (kubernetes_owners.cluster_name is null or kubernetes_owners.cluster_name = namespaces.cluster_name)

),

node_owners as (

    -- a node's lines normally share one owner; if not, the one with the most cost speaks for it
    select
        billing_period,
        charge_date,
        node_resource_id,
        node_team,
        node_environment,
        node_product,
        row_number() over (
            partition by billing_period, charge_date, node_resource_id
            order by effective_cost desc, node_team
        ) as owner_rank
    from node_costs

),

resolved as (

    select
        pods.*,
        case
            when pods.tag_team is not null then 'pod_tag'
            when label_matches.team is not null then 'label_rule'
            when namespace_matches.team is not null then 'namespace_rule'
            when node_owners.node_team is not null and node_owners.node_team <> 'unallocated' then 'node_owner'
            else 'unallocated'
        end as team_source,
        coalesce(pods.tag_team, label_matches.team, namespace_matches.team,
                 nullif(node_owners.node_team, 'unallocated'), 'unallocated') as team,
        coalesce(pods.tag_environment, node_owners.node_environment, 'unallocated') as environment,
        coalesce(pods.tag_product, node_owners.node_product, 'unallocated') as product
    from pods
    left join label_matches
        on pods.cluster_name = label_matches.cluster_name
        and pods.namespace = label_matches.namespace
        and pods.tag_map_key = label_matches.tag_map_key
        and label_matches.rule_rank = 1
    left join namespace_matches
        on pods.cluster_name = namespace_matches.cluster_name
        and pods.namespace = namespace_matches.namespace
        and namespace_matches.rule_rank = 1
    left join node_owners
        on pods.billing_period = node_owners.billing_period
        and pods.charge_date = node_owners.charge_date
        and pods.node_resource_id = node_owners.node_resource_id
        and node_owners.owner_rank = 1

),

final as (

    select
        resolved.billing_period,
        resolved.charge_date,
        resolved.billing_account_id,
        resolved.sub_account_id,
        resolved.provider_name,
        coalesce(aws_services.service_name, resolved.service_name) as service_name,
        resolved.charge_category,
        resolved.billing_currency,
        resolved.node_resource_id,
        resolved.cluster_name,
        resolved.namespace,
        resolved.workload_name,
        resolved.workload_type,
        resolved.team,
        resolved.team_source,
        resolved.environment,
        resolved.product,
        sum(resolved.vcpu_hours) as vcpu_hours,
        sum(resolved.memory_gb_hours) as memory_gb_hours,
        sum(resolved.aws_split_cost) as aws_split_cost,
        sum(resolved.aws_unused_cost) as aws_unused_cost,
        sum(resolved.public_on_demand_split_cost) as public_on_demand_split_cost,
        sum(resolved.public_on_demand_unused_cost) as public_on_demand_unused_cost,
        sum(resolved.net_split_cost) as net_split_cost,
        sum(resolved.net_unused_cost) as net_unused_cost,
        sum(resolved.line_item_count) as line_item_count
    from resolved
    left join aws_services
        on resolved.service_name = aws_services.product_code
    group by
        resolved.billing_period,
        resolved.charge_date,
        resolved.billing_account_id,
        resolved.sub_account_id,
        resolved.provider_name,
        coalesce(aws_services.service_name, resolved.service_name),
        resolved.charge_category,
        resolved.billing_currency,
        resolved.node_resource_id,
        resolved.cluster_name,
        resolved.namespace,
        resolved.workload_name,
        resolved.workload_type,
        resolved.team,
        resolved.team_source,
        resolved.environment,
        resolved.product

)

select * from final
