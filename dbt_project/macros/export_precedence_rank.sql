{#-
    The position of `format_expr` in var('export_precedence') (1 = counted
    first); a format not in the list ranks after all listed ones.
-#}
{% macro export_precedence_rank(format_expr) -%}
    {%- set formats = var('export_precedence') -%}
    case {{ format_expr }}
        {%- for format in formats %}
        when '{{ format }}' then {{ loop.index }}
        {%- endfor %}
        else {{ formats | length + 1 }}
    end
{%- endmacro %}
