{#-
    The values of `expression` in a group, sorted and joined with `delimiter`: a
    deterministic digest input. dbt's listagg ignores the order on Spark.
-#}
{% macro sorted_string_agg(expression, delimiter=',') -%}
    {{ return(adapter.dispatch('sorted_string_agg', 'finops')(expression, delimiter)) }}
{%- endmacro %}

{% macro default__sorted_string_agg(expression, delimiter) -%}
    string_agg({{ expression }}, '{{ delimiter }}' order by {{ expression }})
{%- endmacro %}

{% macro spark__sorted_string_agg(expression, delimiter) -%}
    array_join(array_sort(collect_list({{ expression }})), '{{ delimiter }}')
{%- endmacro %}

{% macro trino__sorted_string_agg(expression, delimiter) -%}
    array_join(array_sort(array_agg({{ expression }})), '{{ delimiter }}')
{%- endmacro %}

{% macro athena__sorted_string_agg(expression, delimiter) -%}
    array_join(array_sort(array_agg({{ expression }})), '{{ delimiter }}')
{%- endmacro %}
