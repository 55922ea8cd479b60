{#-
    A number as fixed-point text for the evidence of fct_savings_opportunities, the same on DuckDB
    and Spark: a decimal (a double cast to text is 1.0E-4 on Spark), and 1e-9 added before rounding so
    a value on a rounding boundary (0.02645, or 0.026449999… from float arithmetic) rounds up on both
    engines (Spark rounds half up on the decimal digits, DuckDB on the binary double).
-#}
{% macro optimize_as_text(expression, digits=2) -%}
    cast(cast(round({{ expression }} + 1e-9, {{ digits }}) as decimal(38, {{ digits }})) as {{ dbt.type_string() }})
{%- endmacro %}
