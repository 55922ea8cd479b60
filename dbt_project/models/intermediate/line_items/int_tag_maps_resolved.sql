{#-
    Tags are resolved once per DISTINCT tag map, not per line item: a bill has
    millions of rows but only thousands of different tag maps, and reading a
    map costs ~10x a flat column. The distinct maps are exploded, matched to
    seed tag_key_aliases, ranked, and pivoted to one row per map;
    int_line_items_counted_daily joins them back by tag_map_key.
    Maps come from every export's line items (int_line_items_tag_maps, before
    export dedup): a superset is harmless and saves a join.
-#}
{%- set taxonomy = var('tag_taxonomy') %}

with tag_maps as (

    select * from {{ ref('int_line_items_tag_maps') }}

),

tag_key_aliases as (

    select * from {{ ref('tag_key_aliases') }}

),

distinct_tag_maps as (

    -- equal maps share one key; lines without tags simply find no row
    select
        tag_map_key,
        {{ dbt.any_value('tags') }} as tags
    from tag_maps
    where tags is not null
    group by tag_map_key

),

tag_entries as (

    {{ explode_map('distinct_tag_maps', 'tags', ['tag_map_key'], 'tag_key', 'tag_value') }}

),

normalized_aliases as (

    select
        {{ normalize_tag_key('raw_key') }} as normalized_key,
        taxonomy_key,
        priority,
        value_transform
    from tag_key_aliases

),

matched_tags as (

    select
        tag_entries.tag_map_key,
        normalized_aliases.taxonomy_key,
        normalized_aliases.priority,
        tag_entries.tag_key,
        case normalized_aliases.value_transform
            when 'lower' then lower(trim(tag_entries.tag_value))
            else trim(tag_entries.tag_value)
        end as tag_value
    from tag_entries
    inner join normalized_aliases
        on {{ normalize_tag_key('tag_entries.tag_key') }} = normalized_aliases.normalized_key
    -- an empty value is no value: it must not hide a filled alias of lower priority
    where nullif(trim(tag_entries.tag_value), '') is not null

),

ranked_tags as (

    select
        *,
        -- several raw keys for one taxonomy key on a line (user_Team and user_owner-team):
        -- the alias with the lowest priority wins, then the lowest raw key, then value
        row_number() over (
            partition by tag_map_key, taxonomy_key
            order by priority, tag_key, tag_value
        ) as alias_rank
    from matched_tags

),

taxonomy_per_tag_map as (

    select
        tag_map_key,
        {% for taxonomy_key in taxonomy -%}
        max(case when taxonomy_key = '{{ taxonomy_key }}' then tag_value end) as {{ taxonomy_key }}
        {%- if not loop.last %},{% endif %}
        {% endfor %}
    from ranked_tags
    where alias_rank = 1
    group by tag_map_key

),

final as (

    select
        distinct_tag_maps.tag_map_key,
        distinct_tag_maps.tags,
        {% for taxonomy_key in taxonomy -%}
        taxonomy_per_tag_map.{{ taxonomy_key }},
        {% endfor -%}
        taxonomy_per_tag_map.team is null as is_untagged
    from distinct_tag_maps
    left join taxonomy_per_tag_map
        on distinct_tag_maps.tag_map_key = taxonomy_per_tag_map.tag_map_key

)

select * from final
