{#- The cost each unit-metric scope can divide: the whole bill, a team, a product, a service category.
    Incremental per billing period (macros/incremental/billing_periods.sql): a month's scopes come
    from that month's allocated costs alone. -#}
{{ config(**billing_period_incremental_config()) }}

with allocated as (

    select * from {{ ref('int_cost_allocated_daily') }}
    where {{ billing_period_filter('billing_period') }}

),

services as (

    -- seed aws_services is per product code; a service name has one category
    select
        service_name,
        min(service_category) as service_category
    from {{ ref('aws_services') }}
    group by service_name

),

categorised as (

    select
        allocated.billing_period,
        allocated.billing_currency,
        allocated.team,
        allocated.product,
        coalesce(services.service_category, 'Other') as service_category,
        allocated.effective_cost
    from allocated
    left join services
        on allocated.service_name = services.service_name

),

by_all as (

    select billing_period, billing_currency, 'all' as scope_type, 'all' as scope_value,
        sum(effective_cost) as cost
    from categorised
    group by billing_period, billing_currency

),

by_team as (

    select billing_period, billing_currency, 'team' as scope_type, team as scope_value,
        sum(effective_cost) as cost
    from categorised
    group by billing_period, billing_currency, team

),

by_product as (

    select billing_period, billing_currency, 'product' as scope_type, product as scope_value,
        sum(effective_cost) as cost
    from categorised
    group by billing_period, billing_currency, product

),

by_service_category as (

    select billing_period, billing_currency, 'service_category' as scope_type, service_category as scope_value,
        sum(effective_cost) as cost
    from categorised
    group by billing_period, billing_currency, service_category

),

final as (

    select * from by_all
    union all
    select * from by_team
    union all
    select * from by_product
    union all
    select * from by_service_category

)

select * from final
