{#-
    The attributes allocation rules can match on: owners are resolved once per
    billing period and distinct combination of them (int_allocation_keys_resolved)
    and joined back on the period and exactly these columns (int_cost_owners_resolved),
    so both read this list.
-#}
{% macro allocation_key_columns() -%}
    {%- set key_columns = [
        'billing_account_id',
        'sub_account_id',
        'service_name',
        'charge_category',
        'usage_type',
        'resource_id',
    ] %}
    {%- for taxonomy_key in var('tag_taxonomy') %}{% do key_columns.append('tag_' ~ taxonomy_key) %}{% endfor %}
    {{- return(key_columns) }}
{%- endmacro %}
