{#-
    The daily line-item aggregate of the counted exports only (an export that
    overlaps a higher-precedence one is dropped, see int_export_coverage_ranked),
    with tags resolved to the taxonomy and AWS product codes named. The same
    rows as int_line_items_tagged would give when summed per day, at a fraction
    of the size: allocation, commitments and completeness read this.
    A view: it is read per billing period by the incremental
    int_line_items_summed_daily and in full by small monthly marts.
-#}
{{ config(materialized='view') }}

{%- set taxonomy = var('tag_taxonomy') %}

with daily_line_items as (

    select * from {{ ref('int_line_items_aggregated_daily') }}

),

counted_exports as (

    select * from {{ ref('int_export_coverage_ranked') }}
    where is_counted

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
        daily_line_items.pricing_category,
        daily_line_items.consumed_unit,
        daily_line_items.commitment_discount_type,
        daily_line_items.commitment_discount_status,
        daily_line_items.billing_currency,
        {% for taxonomy_key in taxonomy -%}
        tag_maps.{{ taxonomy_key }},
        {% endfor -%}
        coalesce(tag_maps.is_untagged, true) as is_untagged,
        daily_line_items.billed_cost,
        daily_line_items.effective_cost,
        daily_line_items.list_cost,
        daily_line_items.unused_commitment_cost,
        daily_line_items.line_item_count,
        daily_line_items._build_version
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
