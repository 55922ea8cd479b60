{#-
    Map access and map explosion differ between engines; models call these
    macros only, so a Spark/Trino/Athena target can add its own
    `<adapter>__map_get` / `<adapter>__explode_map` without touching models.
    The default implementations are DuckDB's (tested); Spark's `m[k]` matches
    the default, Trino/Athena need `element_at(m, k)` and `cross join unnest`.
-#}

{# The value of `key` in the map `map_expr`, NULL when the key is absent. #}
{% macro map_get(map_expr, key) -%}
    {{ return(adapter.dispatch('map_get', 'finops')(map_expr, key)) }}
{%- endmacro %}

{% macro default__map_get(map_expr, key) -%}
    {{ map_expr }}[{{ key }}]
{%- endmacro %}


{#-
    A complete SELECT over `relation` returning one row per map entry:
    the `carry_columns`, then `key_alias` and `value_alias`. Rows whose map is
    NULL or empty yield no rows.
-#}
{% macro explode_map(relation, map_column, carry_columns, key_alias='map_key', value_alias='map_value') -%}
    {{ return(adapter.dispatch('explode_map', 'finops')(relation, map_column, carry_columns, key_alias, value_alias)) }}
{%- endmacro %}

{% macro default__explode_map(relation, map_column, carry_columns, key_alias, value_alias) -%}
    select
        {% for column in carry_columns -%}
        {{ column }},
        {% endfor -%}
        unnest(map_keys({{ map_column }})) as {{ key_alias }},
        unnest(map_values({{ map_column }})) as {{ value_alias }}
    from {{ relation }}
{%- endmacro %}


{#-
    A 64-bit key for a whole map, to join line items to their resolved tag map
    without comparing maps entry by entry (~2x faster on DuckDB). Equal maps
    give equal keys; int_tag_maps_resolved tests that distinct maps never share
    one. Other engines: e.g. Spark `xxhash64(to_json(m))`.
-#}
{% macro map_key(map_expr) -%}
    {{ return(adapter.dispatch('map_key', 'finops')(map_expr)) }}
{%- endmacro %}

{% macro default__map_key(map_expr) -%}
    hash({{ map_expr }})
{%- endmacro %}
