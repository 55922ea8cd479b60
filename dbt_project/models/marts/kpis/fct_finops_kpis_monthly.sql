{#-
    The FinOps KPIs per billing period, one row per KPI, with the target of the maturity
    level var('kpi_target_maturity') from seed kpi_targets and a status:
      better = higher: ok when value >= target, warn when >= target - warn_tolerance, else breach
      better = lower:  ok when value <= target, warn when <= target + warn_tolerance, else breach
      no_data when the value cannot be computed for the period (e.g. forecast accuracy of a
      month that has not closed, unit cost change without a prior month).
-#}
{%- set level = var('kpi_target_maturity') %}
{%- set target_column = 'run_target' if level == 'run' else 'target' %}

with allocated as (

    select * from {{ ref('fct_cost_allocated_daily') }}

),

line_items as (

    select * from {{ ref('int_line_items_counted_daily') }}

),

commitments as (

    select * from {{ ref('fct_commitments_monthly') }}

),

budget_forecast as (

    select * from {{ ref('fct_budget_forecast_monthly') }}

),

anomalies as (

    select * from {{ ref('fct_cost_anomalies_daily') }}

),

unit_costs as (

    select * from {{ ref('fct_unit_cost_monthly') }}

),

targets as (

    select * from {{ ref('kpi_targets') }}

),

allocation as (

    select
        billing_period,
        100 * sum(case when allocation_method <> 'unallocated' then billed_cost else 0 end)
            / nullif(sum(billed_cost), 0) as allocation_coverage_pct,
        100 * sum(case when allocation_method = 'shared_split' then billed_cost else 0 end)
            / nullif(sum(billed_cost), 0) as shared_cost_pct
    from allocated
    group by billing_period

),

tagging as (

    select
        billing_period,
        100 * sum(case when is_untagged then billed_cost else 0 end) / nullif(sum(billed_cost), 0)
            as untagged_cost_pct
    from line_items
    group by billing_period

),

commitment_totals as (

    select
        billing_period,
        100 * sum(covered_cost) / nullif(max(period_eligible_cost), 0) as commitment_coverage_pct,
        100 * sum(used_commitment) / nullif(sum(commitment_cost), 0) as commitment_utilization_pct,
        100 * sum(savings) / nullif(max(period_eligible_cost), 0) as effective_savings_rate_pct
    from commitments
    group by billing_period

),

budget_totals as (

    select
        billing_period,
        100 * (sum(case when budget is not null then forecast_cost end) - sum(budget))
            / nullif(sum(budget), 0) as budget_variance_pct,
        case
            when sum(case when is_closed then 0 else 1 end) = 0
                and sum(case when mid_month_forecast_cost is not null then month_to_date_cost end) > 0
            then 100 * (1 - sum(abs(mid_month_forecast_cost - month_to_date_cost))
                / sum(case when mid_month_forecast_cost is not null then month_to_date_cost end))
        end as forecast_accuracy_pct
    from budget_forecast
    group by billing_period

),

anomaly_totals as (

    select billing_period, count(*) as anomaly_count
    from anomalies
    group by billing_period

),

primary_unit_cost as (

    select billing_period, max(change_pct) as unit_cost_change_pct
    from unit_costs
    where is_primary
    group by billing_period

),

periods as (

    select
        allocation.billing_period,
        allocation.allocation_coverage_pct,
        tagging.untagged_cost_pct,
        allocation.shared_cost_pct,
        commitment_totals.commitment_coverage_pct,
        commitment_totals.commitment_utilization_pct,
        commitment_totals.effective_savings_rate_pct,
        budget_totals.budget_variance_pct,
        budget_totals.forecast_accuracy_pct,
        cast(coalesce(anomaly_totals.anomaly_count, 0) as {{ dbt.type_float() }}) as anomaly_count,
        primary_unit_cost.unit_cost_change_pct
    from allocation
    left join tagging on allocation.billing_period = tagging.billing_period
    left join commitment_totals on allocation.billing_period = commitment_totals.billing_period
    left join budget_totals on allocation.billing_period = budget_totals.billing_period
    left join anomaly_totals on allocation.billing_period = anomaly_totals.billing_period
    left join primary_unit_cost on allocation.billing_period = primary_unit_cost.billing_period

),

unpivoted as (

    {% for kpi in ['allocation_coverage_pct', 'untagged_cost_pct', 'shared_cost_pct', 'commitment_coverage_pct',
                   'commitment_utilization_pct', 'effective_savings_rate_pct', 'budget_variance_pct',
                   'forecast_accuracy_pct', 'anomaly_count', 'unit_cost_change_pct'] -%}
    select billing_period, '{{ kpi }}' as kpi_name, cast({{ kpi }} as {{ dbt.type_float() }}) as value
    from periods
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        unpivoted.billing_period,
        unpivoted.kpi_name,
        unpivoted.value,
        targets.unit,
        targets.better,
        '{{ level }}' as target_maturity,
        targets.{{ target_column }} as target,
        targets.warn_tolerance,
        case
            when unpivoted.value is null then 'no_data'
            when targets.better = 'higher' and unpivoted.value >= targets.{{ target_column }} then 'ok'
            when targets.better = 'higher'
                and unpivoted.value >= targets.{{ target_column }} - targets.warn_tolerance then 'warn'
            when targets.better = 'lower' and unpivoted.value <= targets.{{ target_column }} then 'ok'
            when targets.better = 'lower'
                and unpivoted.value <= targets.{{ target_column }} + targets.warn_tolerance then 'warn'
            else 'breach'
        end as status,
        targets.description
    from unpivoted
    left join targets
        on unpivoted.kpi_name = targets.kpi_name

)

select
    final.*,
    {{ period_status_columns('final.billing_period') }}
from final
