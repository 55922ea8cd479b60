{#-
    Map access and map explosion differ between engines; models call these
    macros only, so a Spark/Trino/Athena target adds its own
    `<adapter>__map_get` / `<adapter>__explode_map` / ... without touching models.
    The default implementations are DuckDB's (tested on every build); the
    `spark__` ones are tested by tests/test_spark_equivalence.py (they also
    serve dbt-databricks, which falls back to spark__ macros). Trino/Athena
    would need `element_at(m, k)` and `cross join unnest` (docs/engines.md).
-#}

{# The value of `key` in the map `map_expr`, NULL when the key is absent. #}
{% macro map_get(map_expr, key) -%}
    {{ return(adapter.dispatch('map_get', 'finops')(map_expr, key)) }}
{%- endmacro %}

{% macro default__map_get(map_expr, key) -%}
    {{ map_expr }}[{{ key }}]
{%- endmacro %}

{#- Spark 4 (ANSI mode, the default) raises on m[k] for a missing key. -#}
{% macro spark__map_get(map_expr, key) -%}
    try_element_at({{ map_expr }}, {{ key }})
{%- endmacro %}


{#-
    A complete SELECT over `relation` returning one row per map entry:
    the `carry_columns`, then `key_alias` and `value_alias`. Rows whose map is
    NULL or empty yield no rows. `map_column` may be any map expression.
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

{% macro spark__explode_map(relation, map_column, carry_columns, key_alias, value_alias) -%}
    select
        {% for column in carry_columns -%}
        {{ column }},
        {% endfor -%}
        explode({{ map_column }}) as ({{ key_alias }}, {{ value_alias }})
    from {{ relation }}
{%- endmacro %}


{#-
    A 64-bit key for a whole map, to join line items to their resolved tag map
    without comparing maps entry by entry (~2x faster on DuckDB). Equal maps
    give equal keys, and a NULL map the same key as an empty one;
    int_tag_maps_resolved tests that distinct maps never share one.
-#}
{% macro map_key(map_expr) -%}
    {{ return(adapter.dispatch('map_key', 'finops')(map_expr)) }}
{%- endmacro %}

{% macro default__map_key(map_expr) -%}
    hash({{ map_expr }})
{%- endmacro %}

{#- Spark cannot hash a map: hash its entries, sorted (order-insensitive). xxhash64 of NULL
    and of an empty array are both the seed (42), as DuckDB's NULL and empty map agree. -#}
{% macro spark__map_key(map_expr) -%}
    xxhash64(sort_array(map_entries({{ map_expr }})))
{%- endmacro %}


{#-
    A map in a form that can be compared, grouped, partitioned by and made
    DISTINCT; map_from_comparable turns it back into the map. DuckDB compares
    maps directly (both are the identity); Spark refuses map types in DISTINCT,
    GROUP BY, PARTITION BY and join keys, so it uses the entries sorted by key
    (equal maps give equal arrays whatever their entry order).
-#}
{% macro comparable_map(map_expr) -%}
    {{ return(adapter.dispatch('comparable_map', 'finops')(map_expr)) }}
{%- endmacro %}

{% macro default__comparable_map(map_expr) -%}
    {{ map_expr }}
{%- endmacro %}

{% macro spark__comparable_map(map_expr) -%}
    sort_array(map_entries({{ map_expr }}))
{%- endmacro %}

{% macro map_from_comparable(comparable_expr) -%}
    {{ return(adapter.dispatch('map_from_comparable', 'finops')(comparable_expr)) }}
{%- endmacro %}

{% macro default__map_from_comparable(comparable_expr) -%}
    {{ comparable_expr }}
{%- endmacro %}

{% macro spark__map_from_comparable(comparable_expr) -%}
    map_from_entries({{ comparable_expr }})
{%- endmacro %}


