{#-
    A tag key in its matching form: trimmed, lower-case, '-', ' ' and ':' as
    '_', without the `user_` / `user:` prefix CUR puts on user tags. Applied to
    the raw keys of the data and to seed tag_key_aliases.raw_key alike, so
    `user_Team`, `user:team`, `TEAM` and `team` all match the alias `team`.
-#}
{% macro normalize_tag_key(key_expr) -%}
    {%- set cleaned -%}
        replace(replace(replace(lower(trim({{ key_expr }})), '-', '_'), ' ', '_'), ':', '_')
    {%- endset -%}
    case
        when substring({{ cleaned }}, 1, 5) = 'user_' then substring({{ cleaned }}, 6)
        else {{ cleaned }}
    end
{%- endmacro %}
