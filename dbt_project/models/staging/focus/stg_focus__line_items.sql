with source as (

    select * from {{ source('landing', 'focus') }}

),

renamed as (

    select
        -- FOCUS 1.x has no line item id: the row's position in its landing file
        -- (one file per export and billing period) identifies it within a delivery
        {{ dbt.hash(dbt.concat([
            '_export', "'|'", 'cast(_billing_period as ' ~ dbt.type_string() ~ ')', "'|'",
            "coalesce(_source_file, '')", "'|'", 'cast(file_row_number as ' ~ dbt.type_string() ~ ')'
        ])) }} as line_item_id,
        'focus' as source_format,
        _export as export_name,
        _delivery_id as delivery_id,
        _source_file as source_file,
        -- the loader writes the period's first day on every landing row (the landing
        -- contract); passed through unchanged so a filter on billing_period reaches the
        -- parquet reader and skips the other months' files (incremental builds, tests)
        _billing_period as billing_period,
        ChargePeriodStart as charge_period_start,
        ChargePeriodEnd as charge_period_end,
        cast(ChargePeriodStart as date) as charge_date,
        nullif(ProviderName, '') as provider_name,
        nullif(BillingAccountId, '') as billing_account_id,
        nullif(BillingAccountName, '') as billing_account_name,
        nullif(SubAccountId, '') as sub_account_id,
        nullif(SubAccountName, '') as sub_account_name,
        cast(null as {{ dbt.type_string() }}) as service_code,
        nullif(ServiceName, '') as service_name,
        nullif(ServiceCategory, '') as service_category,
        coalesce(nullif(ChargeCategory, ''), 'Other') as charge_category,
        nullif(ChargeClass, '') as charge_class,
        -- FOCUS has no line item type: a CUR-like one is derived so that
        -- commitment logic downstream can treat all formats alike
        case
            when ChargeCategory = 'Usage' and CommitmentDiscountStatus = 'Used'
                and CommitmentDiscountType = 'Savings Plan' then 'SavingsPlanCoveredUsage'
            when ChargeCategory = 'Usage' and CommitmentDiscountStatus = 'Used'
                and CommitmentDiscountType = 'Reserved Instance' then 'DiscountedUsage'
            when ChargeCategory = 'Usage' and CommitmentDiscountStatus = 'Unused'
                and CommitmentDiscountType = 'Savings Plan' then 'SavingsPlanRecurringFee'
            when ChargeCategory = 'Usage' and CommitmentDiscountStatus = 'Unused'
                and CommitmentDiscountType = 'Reserved Instance' then 'RIFee'
            when ChargeCategory = 'Purchase' then 'Fee'
            else coalesce(nullif(ChargeCategory, ''), 'Other')
        end as line_item_type,
        cast(null as {{ dbt.type_string() }}) as usage_type,
        cast(null as {{ dbt.type_string() }}) as operation,
        nullif(ResourceId, '') as resource_id,
        nullif(RegionId, '') as region_id,
        nullif(AvailabilityZone, '') as availability_zone,
        nullif(PricingCategory, '') as pricing_category,
        ConsumedQuantity as consumed_quantity,
        nullif(ConsumedUnit, '') as consumed_unit,
        coalesce(BilledCost, 0) as billed_cost,
        coalesce(EffectiveCost, 0) as effective_cost,
        coalesce(ListCost, 0) as list_cost,
        nullif(BillingCurrency, '') as billing_currency,
        nullif(CommitmentDiscountId, '') as commitment_discount_id,
        nullif(CommitmentDiscountType, '') as commitment_discount_type,
        nullif(CommitmentDiscountCategory, '') as commitment_discount_category,
        nullif(CommitmentDiscountStatus, '') as commitment_discount_status,
        case
            when CommitmentDiscountStatus = 'Unused' then coalesce(EffectiveCost, 0)
            else 0
        end as unused_commitment_cost,
        -- FOCUS up to 1.2 has no split cost allocation columns (1.3's Allocated* columns are not landed)
        cast(null as {{ dbt.type_string() }}) as split_parent_resource_id,
        {% for column in ['split_usage', 'split_usage_ratio', 'split_cost', 'split_unused_cost',
                          'split_public_on_demand_split_cost', 'split_public_on_demand_unused_cost',
                          'split_net_split_cost', 'split_net_unused_cost', 'split_reserved_usage',
                          'split_actual_usage'] -%}
        cast(null as double) as {{ column }},
        {% endfor -%}
        Tags as tags
    from source

)

select * from renamed
