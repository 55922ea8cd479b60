{#-
    The canonical line-item relation. A view on purpose: writing 10M+ wide rows
    costs ~1 s per million on two cores, while every consumer reads a few
    columns and aggregates; through the view DuckDB pushes that projection down
    to the landing parquet. The expensive step (resolving tags) is done once
    per distinct tag map in the table int_tag_maps_resolved.
-#}
{{ config(materialized='view') }}

{%- set taxonomy = var('tag_taxonomy') %}
{%- set resolved_columns = {
    'service_name': 'coalesce(aws_services.service_name, line_items.service_name)',
    'service_category': "coalesce(aws_services.service_category, line_items.service_category, 'Other')",
} %}

with line_items as (

    select * from {{ ref('int_line_items_deduplicated') }}

),

tag_maps as (

    select * from {{ ref('int_tag_maps_resolved') }}

),

aws_services as (

    select * from {{ ref('aws_services') }}

),

final as (

    select
        {% for column in canonical_line_item_columns() -%}
        {{ resolved_columns.get(column, 'line_items.' ~ column) }} as {{ column }},
        {% endfor -%}
        {% for taxonomy_key in taxonomy -%}
        tag_maps.{{ taxonomy_key }},
        {% endfor -%}
        coalesce(tag_maps.is_untagged, true) as is_untagged
    from line_items
    left join tag_maps
        on {{ map_key('line_items.tags') }} = tag_maps.tag_map_key
    -- names and categories for AWS product codes; service_code is set by the CUR
    -- staging models only (FOCUS rows bring their own ServiceName/ServiceCategory)
    left join aws_services
        on line_items.service_code = aws_services.product_code

)

select * from final
