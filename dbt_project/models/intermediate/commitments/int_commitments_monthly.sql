{#-
    Savings Plan and Reserved Instance health per billing period, from the counted
    line items' FOCUS commitment columns (summed per day in int_line_items_counted_daily) (works for CUR and FOCUS alike):
      covered usage  = commitment_discount_status 'Used' lines of the type
      unused         = commitment_discount_status 'Unused' lines (SavingsPlanRecurringFee /
                       RIFee in CUR): their unused_commitment_cost
      used           = effective (amortized) cost of the covered lines = the commitment consumed
    Eligibility: see var('commitment_eligibility').

    Incremental per billing period (macros/incremental/billing_periods.sql): a daily
    refresh recomputes the two months it re-delivered, not twelve. Published by the
    view fct_commitments_monthly.
-#}
{{ config(**billing_period_incremental_config()) }}
{%- set eligibility = var('commitment_eligibility') %}
{%- set operations = var('commitment_eligible_operation_prefixes') %}
{%- set types = {'sp': 'Savings Plan', 'ri': 'Reserved Instance'} %}

with line_items as (

    select * from {{ ref('int_line_items_counted_daily') }}
    where {{ billing_period_filter('billing_period') }}
        -- usage, plus the commitment fee lines that carry the unused part (CUR: Purchase
        -- SavingsPlanRecurringFee / RIFee; FOCUS: Usage rows with status Unused)
        and charge_category in ('Usage', 'Purchase')
        -- SavingsPlanNegation lines undo the on-demand charge of covered lines; no usage of their own
        and coalesce(line_item_type, '') <> 'SavingsPlanNegation'

),

flagged as (

    select
        billing_period,
        billing_currency,
        commitment_discount_type,
        commitment_discount_status,
        list_cost,
        effective_cost,
        unused_commitment_cost,
        {% for key, commitment_type in types.items() -%}
        (
            (commitment_discount_type = '{{ commitment_type }}' and commitment_discount_status = 'Used')
            or (
                -- uncovered usage of an eligible kind (usage covered by the other type is not eligible)
                commitment_discount_status is null
                and charge_category = 'Usage'
                and coalesce(pricing_category, 'Standard') in ('Standard', 'Committed')
                and service_name in ('{{ eligibility[commitment_type]['services'] | join("', '") }}')
                and consumed_unit in ('{{ eligibility[commitment_type]['units'] | join("', '") }}')
                and (
                    operation is null
                    {% for prefix in operations -%}
                    or operation like '{{ prefix }}%'
                    {% endfor -%}
                )
            )
        ) as is_{{ key }}_eligible,
        {% endfor -%}
        charge_category = 'Usage' and commitment_discount_status = 'Used' as is_covered
    from line_items

),

aggregated as (

    select
        billing_period,
        billing_currency,
        {% for key, commitment_type in types.items() -%}
        sum(case when is_{{ key }}_eligible then list_cost else 0 end) as {{ key }}_eligible_cost,
        sum(case when is_covered and commitment_discount_type = '{{ commitment_type }}'
            then list_cost else 0 end) as {{ key }}_covered_cost,
        sum(case when is_covered and commitment_discount_type = '{{ commitment_type }}'
            then effective_cost else 0 end) as {{ key }}_used_commitment,
        sum(case when commitment_discount_status = 'Unused' and commitment_discount_type = '{{ commitment_type }}'
            then unused_commitment_cost else 0 end) as {{ key }}_unused_commitment_cost,
        {% endfor -%}
        sum(case when {% for key in types %}is_{{ key }}_eligible{% if not loop.last %} or {% endif %}{% endfor %}
            then list_cost else 0 end) as period_eligible_cost
    from flagged
    group by billing_period, billing_currency

),

by_type as (

    {% for key, commitment_type in types.items() -%}
    select
        billing_period,
        '{{ commitment_type }}' as commitment_type,
        billing_currency,
        {{ key }}_eligible_cost as eligible_cost,
        {{ key }}_covered_cost as covered_cost,
        {{ key }}_used_commitment as used_commitment,
        {{ key }}_unused_commitment_cost as unused_commitment_cost,
        period_eligible_cost
    from aggregated
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

measured as (

    select
        billing_period,
        commitment_type,
        billing_currency,
        eligible_cost,
        covered_cost,
        100 * covered_cost / nullif(eligible_cost, 0) as coverage_pct,
        used_commitment + unused_commitment_cost as commitment_cost,
        used_commitment,
        unused_commitment_cost,
        100 * used_commitment / nullif(used_commitment + unused_commitment_cost, 0) as utilization_pct,
        covered_cost - used_commitment - unused_commitment_cost as savings,
        period_eligible_cost
    from by_type

),

final as (

    select * from measured

)

select * from final
