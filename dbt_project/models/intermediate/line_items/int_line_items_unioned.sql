{#-
    A view: it only stacks the staging views; the two models that read line items
    (int_line_items_aggregated_daily, int_line_items_tag_maps) read it for the
    periods of the run, and the filter reaches the parquet reader.
-#}
{{ config(materialized='view') }}

{%- set staging_models = [
    'stg_aws_cur__cur2_line_items',
    'stg_aws_cur__legacy_line_items',
    'stg_focus__line_items',
] %}

with
{% for model_name in staging_models %}
{{ model_name }} as (

    select * from {{ ref(model_name) }}

),
{% endfor %}

unioned as (

    {% for model_name in staging_models -%}
    select
        {{ canonical_line_item_columns() | join(',\n        ') }}
    from {{ model_name }}
    {% if not loop.last %}
    union all
    {% endif %}
    {%- endfor %}

)

select * from unioned
