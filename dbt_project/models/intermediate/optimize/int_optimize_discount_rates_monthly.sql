{#-
    The Savings Plan discount the bill itself reveals, per billing period: on the usage a
    Savings Plan covered, 1 − amortized cost ÷ public on-demand cost (CUR
    savings_plan_savings_plan_effective_cost vs pricing_public_on_demand_cost; FOCUS
    EffectiveCost vs ListCost). fct_savings_opportunities and
    fct_commitment_purchase_recommendations use it, and fall back to the seed
    optimize_prices (compute_savings_plan_discount) for a period without such lines or whose
    rate is not a plausible Savings Plan discount (outside [0, 90 %)).

    Incremental per billing period (macros/incremental/billing_periods.sql).
-#}
{{ config(**billing_period_incremental_config()) }}

with covered as (

    select * from {{ ref('int_line_items_counted_daily') }}
    where {{ billing_period_filter('billing_period') }}
        and charge_category = 'Usage'
        and commitment_discount_type = 'Savings Plan'
        and commitment_discount_status = 'Used'

),

final as (

    select
        billing_period,
        billing_currency,
        sum(list_cost) as covered_list_cost,
        sum(effective_cost) as covered_effective_cost,
        1 - sum(effective_cost) / sum(list_cost) as discount_rate
    from covered
    group by billing_period, billing_currency
    having sum(list_cost) > 0
        -- Savings Plans discount at most ~72 % off on-demand: a rate outside [0, 90 %) is not one
        -- (e.g. a bill whose covered lines carry no effective cost, as in a public sample), and a
        -- rate of 1 would make every commitment on the curve cost 0; the seed's rate is used then
        and 1 - sum(effective_cost) / sum(list_cost) >= 0
        and 1 - sum(effective_cost) / sum(list_cost) < 0.9

)

select * from final
