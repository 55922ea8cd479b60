with export_coverage as (

    select * from {{ ref('int_export_coverage_ranked') }}

),

dropped_exports as (

    select
        provider_name,
        billing_account_id,
        billing_period,
        source_format,
        export_name,
        counted_export_name,
        counted_export_billed_cost,
        line_item_count,
        billed_cost,
        effective_cost
    from export_coverage
    where not is_counted

)

select * from dropped_exports
