{#-
    THE daily roll-up of the bill: the line items of the counted exports only (an
    export that overlaps a higher-precedence one is dropped, see
    int_export_coverage_ranked), summed per day and attribute, with tags resolved
    to the taxonomy (tag_team, tag_environment, ...) and AWS product codes named.
    Every model after the line items reads this table: allocation, commitments,
    completeness and the KPIs (~1M rows for 10M line items).

    Incremental per billing period (macros/incremental/billing_periods.sql): a run
    rewrites the periods it is for. It depends on seeds (tag aliases, AWS service
    names) and the export precedence, so editing those rebuilds it for every
    period, from the per-export aggregate — the line items are not read again.
-#}
{{ config(**billing_period_incremental_config()) }}

{%- set taxonomy = var('tag_taxonomy') %}

with daily_line_items as (

    select * from {{ ref('int_line_items_aggregated_daily') }}
    where {{ billing_period_filter('billing_period') }}

),

counted_exports as (

    select * from {{ ref('int_export_coverage_ranked') }}
    where is_counted
        and {{ billing_period_filter('billing_period') }}

),

tag_maps as (

    select * from {{ ref('int_tag_maps_resolved') }}

),

aws_services as (

    select * from {{ ref('aws_services') }}

),

final as (

    select
        daily_line_items.billing_period,
        daily_line_items.charge_date,
        daily_line_items.source_format,
        daily_line_items.export_name,
        daily_line_items.provider_name,
        daily_line_items.billing_account_id,
        daily_line_items.sub_account_id,
        daily_line_items.service_code,
        -- names and categories for AWS product codes; service_code is set by the CUR
        -- staging models only (FOCUS rows bring their own ServiceName/ServiceCategory)
        coalesce(aws_services.service_name, daily_line_items.service_name) as service_name,
        coalesce(aws_services.service_category, daily_line_items.service_category, 'Other') as service_category,
        daily_line_items.charge_category,
        daily_line_items.line_item_type,
        daily_line_items.usage_type,
        daily_line_items.operation,
        daily_line_items.resource_id,
        daily_line_items.region_id,
        daily_line_items.pricing_category,
        daily_line_items.consumed_unit,
        daily_line_items.commitment_discount_type,
        daily_line_items.commitment_discount_status,
        daily_line_items.billing_currency,
        {% for taxonomy_key in taxonomy -%}
        tag_maps.{{ taxonomy_key }} as tag_{{ taxonomy_key }},
        {% endfor -%}
        coalesce(tag_maps.is_untagged, true) as is_untagged,
        daily_line_items.billed_cost,
        daily_line_items.effective_cost,
        daily_line_items.list_cost,
        daily_line_items.unused_commitment_cost,
        daily_line_items.consumed_quantity,
        daily_line_items.line_item_count
    from daily_line_items
    inner join counted_exports
        on daily_line_items.export_name = counted_exports.export_name
        and daily_line_items.billing_period = counted_exports.billing_period
        -- NULL account/provider still forms one coverage group, so its rows stay counted
        and daily_line_items.billing_account_id is not distinct from counted_exports.billing_account_id
        and daily_line_items.provider_name is not distinct from counted_exports.provider_name
    left join tag_maps
        on daily_line_items.tag_map_key = tag_maps.tag_map_key
    left join aws_services
        on daily_line_items.service_code = aws_services.product_code

)

select * from final
