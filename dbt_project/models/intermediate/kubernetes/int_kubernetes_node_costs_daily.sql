{#-
    The cost of the EC2 instances EKS pods ran on (the nodes), per day, at the
    allocation grain, with the owner the node would have had without split cost data
    (int_allocation_keys_resolved: tag > rule > account default). These are the lines
    the pods and the idle pool replace in int_cost_owners_resolved: the node's
    instance-hour lines (macro kubernetes_node_usage_line) on the days its pods report
    it as their parent. Its other lines (data transfer, EBS-optimised hours) and any
    day without pod records keep the node's own owner.

    Incremental per billing period (macros/incremental/billing_periods.sql).
-#}
{{ config(**billing_period_incremental_config()) }}
{%- set key_columns = allocation_key_columns() %}
{%- set taxonomy = var('tag_taxonomy') %}

with daily_costs as (

    select * from {{ ref('int_line_items_counted_daily') }}
    where {{ billing_period_filter('billing_period') }}

),

resolved_keys as (

    select * from {{ ref('int_allocation_keys_resolved') }}
    where {{ billing_period_filter('billing_period') }}

),

node_days as (

    select distinct
        billing_period,
        charge_date,
        node_resource_id
    from {{ ref('int_kubernetes_pod_usage_daily') }}
    where {{ billing_period_filter('billing_period') }}
        and node_resource_id is not null

),

node_lines as (

    select
        daily_costs.*,
        node_days.node_resource_id
    from daily_costs
    inner join node_days
        on daily_costs.billing_period = node_days.billing_period
        and daily_costs.charge_date = node_days.charge_date
        and daily_costs.resource_id = node_days.node_resource_id
    where {{ kubernetes_node_usage_line('daily_costs') }}

),

owned as (

    select
        node_lines.billing_period,
        node_lines.charge_date,
        node_lines.node_resource_id,
        node_lines.billing_account_id,
        node_lines.sub_account_id,
        node_lines.provider_name,
        node_lines.service_name,
        node_lines.charge_category,
        node_lines.billing_currency,
        {% for taxonomy_key in taxonomy -%}
        resolved_keys.{{ taxonomy_key }} as node_{{ taxonomy_key }},
        {% endfor -%}
        node_lines.billed_cost,
        node_lines.effective_cost,
        node_lines.list_cost,
        node_lines.line_item_count
    from node_lines
    inner join resolved_keys
        on node_lines.billing_period = resolved_keys.billing_period
        and {% for column in key_columns -%}
            node_lines.{{ column }} is not distinct from resolved_keys.{{ column }}
            {% if not loop.last %}and {% endif %}
        {%- endfor %}

),

aggregated as (

    select
        billing_period,
        charge_date,
        node_resource_id,
        billing_account_id,
        sub_account_id,
        provider_name,
        service_name,
        charge_category,
        billing_currency,
        {% for taxonomy_key in taxonomy -%}
        node_{{ taxonomy_key }},
        {% endfor -%}
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        sum(line_item_count) as line_item_count
    from owned
    group by
        billing_period,
        charge_date,
        node_resource_id,
        billing_account_id,
        sub_account_id,
        provider_name,
        service_name,
        charge_category,
        billing_currency,
        {% for taxonomy_key in taxonomy -%}
        node_{{ taxonomy_key }}{% if not loop.last %},{% endif %}
        {% endfor %}

),

final as (

    select * from aggregated

)

select * from final
