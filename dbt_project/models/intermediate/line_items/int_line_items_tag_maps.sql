{#-
    The distinct tag maps of each billing period's line items, keyed by the
    64-bit key int_line_items_aggregated_daily groups them by (macro map_key):
    a bill has millions of rows but only thousands of different maps, and
    int_tag_maps_resolved resolves each once.

    A second, light read of the line items (their tag map only) beside the
    aggregate, rather than a map column in it: DuckDB holds a whole vector per
    group for a nested any_value state, which ran out of a 2 GB memory limit at
    50M line items (1.3M groups); and a map on each of the aggregate's rows made
    its every write and read slower. Incremental per billing period like the
    aggregate, on the landing data alone.
-#}
{{ config(**billing_period_incremental_config()) }}

with line_items as (

    select * from {{ ref('int_line_items_unioned') }}
    where {{ billing_period_filter('billing_period') }}
        and tags is not null

),

distinct_tag_maps as (

    -- one of the (equal) maps of each key
    select
        billing_period,
        {{ map_key('tags') }} as tag_map_key,
        {{ dbt.any_value('tags') }} as tags
    from line_items
    group by billing_period, {{ map_key('tags') }}

),

final as (

    select * from distinct_tag_maps

)

select * from final
