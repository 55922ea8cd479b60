{#-
    The sources that may set an allocation dimension, in precedence order, from
    var('allocation_precedence') (default tag > rule > account_default). Each
    dimension (team, environment, product, cost_center, owner) takes its value
    from the first source in this order that has one. Validated at compile
    time: the list may only reorder or drop the known sources.
-#}
{% macro allocation_precedence() -%}
    {%- set known = ['tag', 'rule', 'account_default'] -%}
    {%- set precedence = var('allocation_precedence', known) -%}
    {%- if precedence is string or precedence | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "var allocation_precedence must be a non-empty list drawn from " ~ known ~ ", got " ~ precedence) }}
    {%- endif -%}
    {%- for source in precedence -%}
        {%- if source not in known or (precedence | select('equalto', source) | list | length) > 1 -%}
            {{ exceptions.raise_compiler_error(
                "var allocation_precedence: '" ~ source ~ "' is unknown or repeated; use each of "
                ~ known ~ " at most once (dbt_project.yml)") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(precedence) }}
{%- endmacro %}
