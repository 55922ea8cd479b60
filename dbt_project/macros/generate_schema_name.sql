{#-
    Schemas are named exactly as configured (`staging`, `intermediate`, `marts`,
    `config`), not `<target schema>_marts`: design.md promises BI tools a schema
    called `marts`. Models without a custom schema go to the target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
