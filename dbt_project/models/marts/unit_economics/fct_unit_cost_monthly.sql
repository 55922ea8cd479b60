with unit_metrics as (

    select * from {{ ref('unit_metrics') }}

),

scope_costs as (

    select * from {{ ref('int_costs_by_scope_monthly') }}

),

drivers as (

    select * from {{ ref('stg_business__drivers') }}

),

drivers_monthly as (

    select
        billing_period,
        metric_name,
        sum(driver_value) as units,
        sum(revenue) as revenue,
        count(revenue) as revenue_rows
    from drivers
    where billing_period is not null
    group by billing_period, metric_name

),

-- every unit metric in every billing period that has cost, so a missing driver shows as NULL units
periods as (

    select billing_period, billing_currency
    from scope_costs
    where scope_type = 'all'

),

spine as (

    select
        periods.billing_period,
        periods.billing_currency,
        unit_metrics.unit_metric,
        unit_metrics.scope_type,
        unit_metrics.scope_value,
        unit_metrics.metric_name,
        unit_metrics.unit_label,
        unit_metrics.is_primary
    from periods
    cross join unit_metrics

),

joined as (

    select
        spine.billing_period,
        spine.unit_metric,
        case when spine.scope_type = 'all' then 'all'
            else spine.scope_type || ':' || spine.scope_value end as scope,
        spine.scope_type,
        spine.scope_value,
        spine.metric_name,
        spine.unit_label,
        spine.is_primary,
        spine.billing_currency,
        coalesce(scope_costs.cost, 0) as cost,
        drivers_monthly.units,
        case when drivers_monthly.revenue_rows > 0 then drivers_monthly.revenue end as revenue
    from spine
    left join scope_costs
        on spine.billing_period = scope_costs.billing_period
        and spine.billing_currency = scope_costs.billing_currency
        and spine.scope_type = scope_costs.scope_type
        and lower(spine.scope_value) = lower(scope_costs.scope_value)
    left join drivers_monthly
        on spine.billing_period = drivers_monthly.billing_period
        and lower(trim(spine.metric_name)) = drivers_monthly.metric_name

),

per_unit as (

    select
        *,
        cost / nullif(units, 0) as cost_per_unit,
        revenue / nullif(units, 0) as revenue_per_unit
    from joined

),

with_prior as (

    select
        *,
        -- the prior value only when it is the calendar month before
        case
            when lag(billing_period) over (
                partition by unit_metric, scope, billing_currency order by billing_period
            ) = {{ dbt.dateadd('month', -1, 'billing_period') }}
            then lag(cost_per_unit) over (
                partition by unit_metric, scope, billing_currency order by billing_period
            )
        end as prior_cost_per_unit
    from per_unit

),

final as (

    select
        billing_period,
        unit_metric,
        scope,
        scope_type,
        scope_value,
        metric_name,
        unit_label,
        is_primary,
        billing_currency,
        cost,
        units,
        cost_per_unit,
        prior_cost_per_unit,
        100 * (cost_per_unit - prior_cost_per_unit) / nullif(abs(prior_cost_per_unit), 0) as change_pct,
        revenue,
        revenue_per_unit,
        revenue_per_unit - cost_per_unit as unit_margin,
        coalesce(revenue_per_unit < cost_per_unit, false) as is_negative_margin
    from with_prior

)

select
    final.*,
    {{ period_status_columns('final.billing_period') }}
from final
