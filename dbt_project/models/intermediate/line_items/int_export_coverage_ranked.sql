{{ config(**billing_period_incremental_config()) }}

with daily_line_items as (

    select * from {{ ref('int_line_items_aggregated_daily') }}
    where {{ billing_period_filter('billing_period') }}

),

coverage as (

    select
        provider_name,
        billing_account_id,
        billing_period,
        source_format,
        export_name,
        sum(line_item_count) as line_item_count,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost
    from daily_line_items
    group by
        provider_name,
        billing_account_id,
        billing_period,
        source_format,
        export_name

),

ranked as (

    select
        *,
        row_number() over (
            partition by provider_name, billing_account_id, billing_period
            order by {{ export_precedence_rank('source_format') }}, export_name
        ) as export_rank
    from coverage

),

final as (

    select
        provider_name,
        billing_account_id,
        billing_period,
        source_format,
        export_name,
        export_rank,
        export_rank = 1 as is_counted,
        first_value(export_name) over (
            partition by provider_name, billing_account_id, billing_period
            order by export_rank
        ) as counted_export_name,
        first_value(billed_cost) over (
            partition by provider_name, billing_account_id, billing_period
            order by export_rank
        ) as counted_export_billed_cost,
        line_item_count,
        billed_cost,
        effective_cost
    from ranked

)

select * from final
