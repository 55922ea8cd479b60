{#-
    Daily costs with every allocation dimension resolved (tag > rule > account
    default, var allocation_precedence) and the shared-cost pool, if any, each
    cost belongs to. EKS nodes' cost comes split to their pods' teams and the
    clusters' idle pools instead (int_kubernetes_costs_split_daily, methods
    kubernetes_split / kubernetes_idle), before any shared-cost pool. A cost with a shared_cost_rule_name is not direct cost of
    its team: int_shared_costs_split redistributes it.

    Incremental per billing period (macros/incremental/billing_periods.sql): a run
    rewrites the periods it is for; a rule seed or model change rebuilds every period.
-#}
{{ config(**billing_period_incremental_config()) }}
{%- set taxonomy = var('tag_taxonomy') %}
{%- set key_columns = allocation_key_columns() %}
{%- set grain = [
    'billing_period',
    'charge_date',
    'billing_account_id',
    'sub_account_id',
    'provider_name',
    'service_name',
    'charge_category',
    'billing_currency',
] %}
{%- set resolved_columns = taxonomy + ['allocation_method', 'shared_cost_rule_name'] %}

with daily_costs as (

    select * from {{ ref('int_line_items_counted_daily') }}
    where {{ billing_period_filter('billing_period') }}

),

kubernetes_node_days as (

    select distinct billing_period, charge_date, node_resource_id
    from {{ ref('int_kubernetes_pod_usage_daily') }}
    where {{ billing_period_filter('billing_period') }}
        and node_resource_id is not null

),

kubernetes_costs as (

    select * from {{ ref('int_kubernetes_costs_split_daily') }}
    where {{ billing_period_filter('billing_period') }}

),

costs_not_split as (

    -- EKS nodes' instance hours on the days their pods report them, and the pods' own
    -- records, are booked once, by the Kubernetes split (kubernetes_costs, below): never
    -- both as the instance and as its pods (docs/allocation.md#kubernetes)
    select daily_costs.*
    from daily_costs
    left join kubernetes_node_days
        on daily_costs.billing_period = kubernetes_node_days.billing_period
        and daily_costs.charge_date = kubernetes_node_days.charge_date
        and daily_costs.resource_id = kubernetes_node_days.node_resource_id
    where not coalesce(
            kubernetes_node_days.node_resource_id is not null and {{ kubernetes_node_usage_line('daily_costs') }},
            false)
        and coalesce(daily_costs.operation, '') <> '{{ kubernetes_pod_operation() }}'

),

resolved_keys as (

    select * from {{ ref('int_allocation_keys_resolved') }}
    where {{ billing_period_filter('billing_period') }}

),

joined as (

    select
        {% for column in grain -%}
        daily_costs.{{ column }},
        {% endfor -%}
        {% for column in resolved_columns -%}
        resolved_keys.{{ column }},
        {% endfor -%}
        daily_costs.billed_cost,
        daily_costs.effective_cost,
        daily_costs.list_cost,
        daily_costs.line_item_count
    from costs_not_split as daily_costs
    inner join resolved_keys
        on daily_costs.billing_period = resolved_keys.billing_period
        and {% for column in key_columns -%}
            daily_costs.{{ column }} is not distinct from resolved_keys.{{ column }}
            {% if not loop.last %}and {% endif %}
        {%- endfor %}

),

kubernetes_owned as (

    select
        {% for column in grain -%}
        {{ column }},
        {% endfor -%}
        {% for column in taxonomy -%}
        {% if column in ['team', 'environment', 'product', 'cost_center', 'owner'] -%}
        {{ column }},
        {%- else -%}
        'unallocated' as {{ column }},
        {%- endif %}
        {% endfor -%}
        allocation_method,
        cast(null as {{ dbt.type_string() }}) as shared_cost_rule_name,
        billed_cost,
        effective_cost,
        list_cost,
        line_item_count
    from kubernetes_costs

),

owned as (

    select * from joined
    union all
    select * from kubernetes_owned

),

aggregated as (

    select
        {% for column in grain + resolved_columns -%}
        {{ column }},
        {% endfor -%}
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        sum(line_item_count) as line_item_count
    from owned
    group by
        {{ (grain + resolved_columns) | join(',\n        ') }}

),

final as (

    select * from aggregated

)

select * from final
