{#-
    The published allocation fact. Its logic lives in int_cost_allocated_daily so
    that other intermediate models (team costs for budgets, anomalies, unit
    economics) build on it without an intermediate model reading a mart.

    A view: int_cost_allocated_daily is the stored table, incremental per billing
    period, so a daily refresh does not copy twelve months of rows again.
-#}
{{ config(materialized='view') }}

with allocated as (

    select * from {{ ref('int_cost_allocated_daily') }}

),

final as (

    select
        billing_period,
        charge_date,
        billing_account_id,
        sub_account_id,
        provider_name,
        service_name,
        charge_category,
        team,
        environment,
        product,
        cost_center,
        allocation_method,
        billing_currency,
        billed_cost,
        effective_cost,
        list_cost,
        line_item_count
    from allocated

)

select * from final
