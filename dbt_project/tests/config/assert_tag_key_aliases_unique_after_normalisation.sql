-- Two alias rows that normalise to the same key (say `Cost-Center` and `cost_center`)
-- would match every such tag twice, and could send it to two taxonomy keys.
with aliases as (

    select
        {{ normalize_tag_key('raw_key') }} as normalized_key,
        raw_key,
        taxonomy_key
    from {{ ref('tag_key_aliases') }}

)

select normalized_key, count(*) as alias_rows
from aliases
group by normalized_key
having count(*) > 1
