{#-
    The FinOps KPIs per billing period and currency, one row per KPI. Every value is
    a metric of the semantic layer (models/semantic/_metrics.yml, config.meta.kpi),
    compiled from its definition there (macros/semantic/metric_values.sql): this
    mart, `mf query`, the checks, the CLI summary and the review pack show the same
    number. Shares carry their numerator and denominator so that BI re-aggregates
    them exactly.

    Target: the threshold of maturity level var('kpi_target_maturity') in seed
    kpi_targets. Status:
      better = higher: ok when value >= target, warn when >= target - warn_tolerance, else breach
      better = lower:  ok when value <= target, warn when <= target + warn_tolerance, else breach
      no_data when the value cannot be computed for the period (an open month's
      forecast accuracy, the first month's unit cost change, no commitments).
    Budget KPIs (budget_variance_pct, teams_over_budget) breach whenever one team is
    over budget, whatever the total: status_label says "breached (3 teams)".
-#}
-- the tables of the semantic models the KPIs read (dbt orders the build by these refs)
-- depends_on: {{ ref('fct_tag_coverage_monthly') }}
-- depends_on: {{ ref('fct_cost_allocated_daily') }}
-- depends_on: {{ ref('fct_commitments_monthly') }}
-- depends_on: {{ ref('fct_budget_forecast_monthly') }}
-- depends_on: {{ ref('fct_cost_anomalies_daily') }}
-- depends_on: {{ ref('fct_unit_cost_monthly') }}
-- depends_on: {{ ref('fct_kubernetes_cost_daily') }}
{%- set level = var('kpi_target_maturity') %}
{%- set target_column = 'run_target' if level == 'run' else 'target' %}
{%- set kpis = semantic_kpi_metrics() %}
{%- set budget_kpis = ['budget_variance_pct', 'teams_over_budget'] %}
{%- set needed = ['teams_over_budget'] %}
{%- for kpi in kpis %}
    {%- for name in [kpi.name, kpi.numerator, kpi.denominator] if name and name not in needed %}
        {%- do needed.append(name) %}
    {%- endfor %}
{%- endfor %}

with metric_values as (

    {{ semantic_metric_values(needed, ['billing_period', 'billing_currency']) | indent(4) }}

),

targets as (

    select * from {{ ref('kpi_targets') }}

),

unpivoted as (

    {% for kpi in kpis -%}
    select
        billing_period,
        billing_currency,
        '{{ kpi.name }}' as kpi_name,
        {{ kpi.name }} as value,
        {{ kpi.numerator or ('cast(null as ' ~ type_double() ~ ')') }} as numerator,
        {{ kpi.denominator or ('cast(null as ' ~ type_double() ~ ')') }} as denominator,
        {{ 'coalesce(teams_over_budget, 0)' if kpi.name in budget_kpis else '0' }} as teams_over_budget,
        '{{ kpi.description | replace("'", "''") }}' as description
    from metric_values
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}

),

with_status as (

    select
        unpivoted.billing_period,
        unpivoted.billing_currency,
        unpivoted.kpi_name,
        unpivoted.value,
        unpivoted.numerator,
        unpivoted.denominator,
        unpivoted.teams_over_budget,
        targets.unit,
        targets.better,
        targets.{{ target_column }} as target,
        targets.warn_tolerance,
        case
            when unpivoted.value is null then 'no_data'
            when unpivoted.teams_over_budget > 0 then 'breach'
            when targets.better = 'higher' and unpivoted.value >= targets.{{ target_column }} then 'ok'
            when targets.better = 'higher'
                and unpivoted.value >= targets.{{ target_column }} - targets.warn_tolerance then 'warn'
            when targets.better = 'lower' and unpivoted.value <= targets.{{ target_column }} then 'ok'
            when targets.better = 'lower'
                and unpivoted.value <= targets.{{ target_column }} + targets.warn_tolerance then 'warn'
            else 'breach'
        end as status,
        unpivoted.description
    from unpivoted
    left join targets
        on unpivoted.kpi_name = targets.kpi_name

),

final as (

    select
        billing_period,
        billing_currency,
        kpi_name,
        cast(value as {{ type_double() }}) as value,
        cast(numerator as {{ type_double() }}) as numerator,
        cast(denominator as {{ type_double() }}) as denominator,
        unit,
        better,
        '{{ level }}' as target_maturity,
        cast(target as {{ type_double() }}) as target,
        cast(warn_tolerance as {{ type_double() }}) as warn_tolerance,
        status,
        case
            when teams_over_budget = 1 then 'breached (1 team)'
            when teams_over_budget > 1 then 'breached (' || cast(cast(teams_over_budget as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }}) || ' teams)'
            when status = 'breach' then 'breached'
            when status = 'no_data' then 'no data'
            else status
        end as status_label,
        description
    from with_status

)

select
    final.*,
    {{ period_status_columns('final.billing_period') }}
from final
