{#- The values of a group joined into one string in sorted order, the same on every engine:
    dbt.listagg's order by is not supported on Spark (collect_list has no order), so a
    list of names would differ between runs and engines. -#}
{% macro sorted_string_agg(measure, delimiter_text) -%}
    {{ return(adapter.dispatch('sorted_string_agg', 'finops')(measure, delimiter_text)) }}
{%- endmacro %}

{% macro default__sorted_string_agg(measure, delimiter_text) -%}
    {{ dbt.listagg(measure, delimiter_text, 'order by ' ~ measure) }}
{%- endmacro %}

{% macro spark__sorted_string_agg(measure, delimiter_text) -%}
    array_join(array_sort(collect_list({{ measure }})), {{ delimiter_text }})
{%- endmacro %}
