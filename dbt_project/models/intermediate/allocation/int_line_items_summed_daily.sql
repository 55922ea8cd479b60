{#-
    The one read of the canonical line items for allocation: 10M+ line items
    become ~1M daily rows here, and everything downstream (rule matching,
    shared-cost splits, the marts) works on this table or smaller. usage_type
    and resource_id stay because rules can match on them; they are dropped in
    int_cost_owners_resolved.
-#}
{%- set taxonomy = var('tag_taxonomy') %}
{%- set attributes = [
    'billing_period',
    'charge_date',
    'billing_account_id',
    'sub_account_id',
    'provider_name',
    'service_name',
    'charge_category',
    'usage_type',
    'resource_id',
    'billing_currency',
] %}

with line_items as (

    select * from {{ ref('int_line_items_tagged') }}

),

summed as (

    select
        {% for attribute in attributes -%}
        {{ attribute }},
        {% endfor -%}
        {% for taxonomy_key in taxonomy -%}
        {{ taxonomy_key }} as tag_{{ taxonomy_key }},
        {% endfor -%}
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        count(*) as line_item_count
    from line_items
    group by
        {% for attribute in attributes -%}
        {{ attribute }},
        {% endfor -%}
        {% for taxonomy_key in taxonomy -%}
        {{ taxonomy_key }}{% if not loop.last %},{% endif %}
        {% endfor %}

)

select * from summed
