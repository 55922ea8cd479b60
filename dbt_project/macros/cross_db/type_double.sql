{#- A 64-bit float on every engine the project runs on (DuckDB, Spark, Trino, Athena all
    spell it `double`). dbt.type_float() is 32-bit FLOAT on DuckDB: a KPI stored in it shows
    rounding in BI (24.84 becomes 24.8399…), so ratios and money use this. -#}
{% macro type_double() -%}
    double
{%- endmacro %}
