{#-
    The one CUR → canonical line-item mapping, shared by the CUR 2.0 and the
    legacy CUR staging models (both land with the CUR 2.0 column names, see
    orchestration/landing_schema.py). Renders a complete SELECT over
    `relation`, a CTE holding the landing rows. Rename, cast, normalise only.
-#}
{% macro aws_cur_to_canonical(relation, source_format) -%}
    select
        -- identity_line_item_id repeats across hours; with the time interval it is unique
        identity_line_item_id || '/' || coalesce(identity_time_interval, '') as line_item_id,
        '{{ source_format }}' as source_format,
        _export as export_name,
        _delivery_id as delivery_id,
        _source_file as source_file,
        -- the loader writes the period's first day on every landing row (the landing
        -- contract); passed through unchanged so a filter on billing_period reaches the
        -- parquet reader and skips the other months' files (incremental builds, tests)
        _billing_period as billing_period,
        line_item_usage_start_date as charge_period_start,
        line_item_usage_end_date as charge_period_end,
        cast(line_item_usage_start_date as date) as charge_date,
        'AWS' as provider_name,
        nullif(bill_payer_account_id, '') as billing_account_id,
        nullif(bill_payer_account_name, '') as billing_account_name,
        nullif(line_item_usage_account_id, '') as sub_account_id,
        nullif(line_item_usage_account_name, '') as sub_account_name,
        nullif(line_item_product_code, '') as service_code,
        -- the product code until int_line_items_counted_daily resolves it via seed aws_services
        nullif(line_item_product_code, '') as service_name,
        cast(null as {{ dbt.type_string() }}) as service_category,
        {{ aws_cur_charge_category('line_item_type') }} as charge_category,
        cast(null as {{ dbt.type_string() }}) as charge_class,
        line_item_type,
        nullif(line_item_usage_type, '') as usage_type,
        nullif(line_item_operation, '') as operation,
        nullif(line_item_resource_id, '') as resource_id,
        nullif(product_region_code, '') as region_id,
        nullif(line_item_availability_zone, '') as availability_zone,
        case
            when line_item_type in ('DiscountedUsage', 'SavingsPlanCoveredUsage') then 'Committed'
            when {{ aws_cur_charge_category('line_item_type') }} <> 'Usage' then cast(null as {{ dbt.type_string() }})
            when pricing_term = 'Spot' or line_item_usage_type like '%SpotUsage%' then 'Dynamic'
            else 'Standard'
        end as pricing_category,
        line_item_usage_amount as consumed_quantity,
        nullif(pricing_unit, '') as consumed_unit,
        -- a split cost allocation record (an EKS pod's or ECS task's share of its EC2
        -- instance) restates the instance's cost in the split_* columns: its line-item
        -- costs are never counted, so the bill's total is the same with split data on or off
        case when is_split_cost_record then 0 else coalesce(line_item_unblended_cost, 0) end as billed_cost,
        case when is_split_cost_record then 0 else {{ aws_cur_amortized_cost('line_item_type') }} end
            as effective_cost,
        case
            when is_split_cost_record or line_item_type = 'SavingsPlanNegation' then 0
            else coalesce(pricing_public_on_demand_cost, 0)
        end as list_cost,
        nullif(line_item_currency_code, '') as billing_currency,
        coalesce(nullif(savings_plan_savings_plan_a_r_n, ''), nullif(reservation_reservation_a_r_n, ''))
            as commitment_discount_id,
        case
            when nullif(savings_plan_savings_plan_a_r_n, '') is not null then 'Savings Plan'
            when nullif(reservation_reservation_a_r_n, '') is not null then 'Reserved Instance'
        end as commitment_discount_type,
        case
            when nullif(savings_plan_savings_plan_a_r_n, '') is not null then 'Spend'
            when nullif(reservation_reservation_a_r_n, '') is not null then 'Usage'
        end as commitment_discount_category,
        case
            when line_item_type in ('DiscountedUsage', 'SavingsPlanCoveredUsage') then 'Used'
            when line_item_type in ('RIFee', 'SavingsPlanRecurringFee') then 'Unused'
        end as commitment_discount_status,
        {{ aws_cur_unused_commitment_cost('line_item_type') }} as unused_commitment_cost,
        -- split cost allocation data, as AWS computes it (NULL on every other line);
        -- the money columns are the pod's or task's share of its parent instance's amortized cost
        nullif(split_line_item_parent_resource_id, '') as split_parent_resource_id,
        split_line_item_split_usage as split_usage,
        split_line_item_split_usage_ratio as split_usage_ratio,
        split_line_item_split_cost as split_cost,
        split_line_item_unused_cost as split_unused_cost,
        split_line_item_public_on_demand_split_cost as split_public_on_demand_split_cost,
        split_line_item_public_on_demand_unused_cost as split_public_on_demand_unused_cost,
        split_line_item_net_split_cost as split_net_split_cost,
        split_line_item_net_unused_cost as split_net_unused_cost,
        split_line_item_reserved_usage as split_reserved_usage,
        split_line_item_actual_usage as split_actual_usage,
        resource_tags as tags
    from (
        select
            *,
            nullif(line_item_line_item_type, '') as line_item_type,
            coalesce(line_item_operation, '') in ({{ "'" ~ split_cost_operations() | join("', '") ~ "'" }})
                as is_split_cost_record
        from {{ relation }}
    ) as typed
{%- endmacro %}
