{#-
    Version 1 of fct_finops_kpis_monthly, kept for dashboards built on its grain
    (billing_period × kpi_name) until its deprecation date: v2's rows and values
    without the currency columns, for the periods billed in a single currency. A
    period billed in several currencies has no v1 rows: its KPIs differ per currency
    and only v2 can say so.
-#}

with kpis as (

    select * from {{ ref('fct_finops_kpis_monthly', v=2) }}

),

single_currency_periods as (

    select billing_period
    from kpis
    group by billing_period
    having count(distinct billing_currency) = 1

),

final as (

    select
        kpis.billing_period,
        kpis.kpi_name,
        kpis.value,
        kpis.unit,
        kpis.better,
        kpis.target_maturity,
        kpis.target,
        kpis.warn_tolerance,
        kpis.status,
        kpis.description,
        kpis.is_closed_period,
        kpis.is_latest_period
    from kpis
    inner join single_currency_periods
        on kpis.billing_period = single_currency_periods.billing_period

)

select * from final
