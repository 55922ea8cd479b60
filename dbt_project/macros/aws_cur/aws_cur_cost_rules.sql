{#-
    The CUR cost rules, one macro each, used by the CUR staging models through
    aws_cur_to_canonical. They expect the CUR 2.0 landing columns in scope and
    `line_item_type` = the line item type with '' turned into NULL.
-#}

{#- CUR line item type → FOCUS ChargeCategory (domain.md). Unknown types get
    their own category 'Other': they are kept and visible, never dropped. -#}
{% macro aws_cur_charge_category(line_item_type) -%}
    case
        when {{ line_item_type }} in (
            'Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage', 'SavingsPlanNegation',
            'BundledDiscount', 'Discount', 'PrivateRateDiscount', 'EdpDiscount'
        ) then 'Usage'
        when {{ line_item_type }} in (
            'Fee', 'RIFee', 'SavingsPlanUpfrontFee', 'SavingsPlanRecurringFee'
        ) then 'Purchase'
        when {{ line_item_type }} = 'Tax' then 'Tax'
        when {{ line_item_type }} = 'Credit' then 'Credit'
        when {{ line_item_type }} = 'Refund' then 'Adjustment'
        else 'Other'
    end
{%- endmacro %}


{#- Amortized (effective) cost, exactly as AWS's Cloud Intelligence Dashboards
    compute it (domain.md, "Cost measures"). NULL inputs count as 0. -#}
{% macro aws_cur_amortized_cost(line_item_type) -%}
    case
        when {{ line_item_type }} = 'SavingsPlanCoveredUsage'
            then coalesce(savings_plan_savings_plan_effective_cost, 0)
        when {{ line_item_type }} = 'SavingsPlanRecurringFee'
            then coalesce(savings_plan_total_commitment_to_date, 0)
                - coalesce(savings_plan_used_commitment, 0)
        when {{ line_item_type }} in ('SavingsPlanNegation', 'SavingsPlanUpfrontFee')
            then 0
        when {{ line_item_type }} = 'DiscountedUsage'
            then coalesce(reservation_effective_cost, 0)
        when {{ line_item_type }} = 'RIFee'
            then coalesce(reservation_unused_amortized_upfront_fee_for_billing_period, 0)
                + coalesce(reservation_unused_recurring_fee, 0)
        -- the RI upfront purchase: amortized into DiscountedUsage/RIFee rows instead
        when {{ line_item_type }} = 'Fee' and nullif(reservation_reservation_a_r_n, '') is not null
            then 0
        else coalesce(line_item_unblended_cost, 0)
    end
{%- endmacro %}


{#- The unused part of a commitment, charged on the commitment's fee rows. -#}
{% macro aws_cur_unused_commitment_cost(line_item_type) -%}
    case
        when {{ line_item_type }} = 'SavingsPlanRecurringFee'
            then coalesce(savings_plan_total_commitment_to_date, 0)
                - coalesce(savings_plan_used_commitment, 0)
        when {{ line_item_type }} = 'RIFee'
            then coalesce(reservation_unused_amortized_upfront_fee_for_billing_period, 0)
                + coalesce(reservation_unused_recurring_fee, 0)
        else 0
    end
{%- endmacro %}
