{#-
    A view: a filter over the union. int_line_items_tagged is the materialised
    canonical table; storing the same 10M+ rows twice would double build time.
-#}
{{ config(materialized='view') }}

with line_items as (

    select * from {{ ref('int_line_items_unioned') }}

),

counted_exports as (

    select * from {{ ref('int_export_coverage_ranked') }}
    where is_counted

),

deduplicated as (

    select line_items.*
    from line_items
    inner join counted_exports
        on line_items.export_name = counted_exports.export_name
        and line_items.billing_period = counted_exports.billing_period
        -- NULL account/provider still forms one coverage group, so its rows stay counted
        and line_items.billing_account_id is not distinct from counted_exports.billing_account_id
        and line_items.provider_name is not distinct from counted_exports.provider_name

)

select * from deduplicated
