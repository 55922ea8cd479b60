{#- A number rounded for the evidence text of fct_savings_opportunities (same on DuckDB and Spark). -#}
{% macro optimize_as_text(expression, digits=2) -%}
    cast(round({{ expression }}, {{ digits }}) as {{ dbt.type_string() }})
{%- endmacro %}
