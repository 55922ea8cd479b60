{#-
    Daily costs with every allocation dimension resolved (tag > rule > account
    default, var allocation_precedence) and the shared-cost pool, if any, each
    cost belongs to. A cost with a shared_cost_rule_name is not direct cost of
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
    from daily_costs
    inner join resolved_keys
        on daily_costs.billing_period = resolved_keys.billing_period
        and {% for column in key_columns -%}
            daily_costs.{{ column }} is not distinct from resolved_keys.{{ column }}
            {% if not loop.last %}and {% endif %}
        {%- endfor %}

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
    from joined
    group by
        {{ (grain + resolved_columns) | join(',\n        ') }}

),

final as (

    select * from aggregated

)

select * from final
