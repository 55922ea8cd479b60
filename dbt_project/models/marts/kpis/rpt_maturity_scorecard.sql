{#-
    Where the data says the practice stands on the operating model's crawl/walk/run table,
    per billing period, currency and capability. Each level is earned by evidence in the warehouse;
    thresholds come from seed kpi_targets (target = walk, run_target = run) so the scorecard
    and the KPI statuses never disagree:
      allocation     walk: allocation_coverage_pct >= walk; run: >= run and a shared-cost split in place
      visibility     walk: showback possible (allocation coverage >= walk - warn_tolerance);
                     run: also unit costs computed (a unit metric with units) for the period
      anomalies      walk: daily detection running and every team with cost has an alert channel
                     (seed teams); run would need hourly detection (the data is daily): never run
      commitments    walk: coverage and utilization >= walk; run: both >= run
      cadence        walk: every team with cost has a budget and a month-end forecast;
                     run: also forecast accuracy >= run
      accountability walk: every team with cost has showback or chargeback (seed teams);
                     run: chargeback for at least one team and allocation coverage >= run
      ownership      walk: every team with cost has a named owner; run (a FinOps practice) is
                     not visible in billing data: never run
-#}

with kpis as (

    select * from {{ ref('fct_finops_kpis_monthly') }}

),

targets as (

    select * from {{ ref('kpi_targets') }}

),

budget_forecast as (

    select * from {{ ref('fct_budget_forecast_monthly') }}

),

unit_costs as (

    select * from {{ ref('fct_unit_cost_monthly') }}

),

teams as (

    select * from {{ ref('teams') }}

),

kpi_values as (

    select
        kpis.billing_period,
        kpis.billing_currency,
        {% for kpi in ['allocation_coverage_pct', 'untagged_cost_pct', 'shared_cost_pct', 'commitment_coverage_pct',
                       'commitment_utilization_pct', 'forecast_accuracy_pct'] -%}
        max(case when kpis.kpi_name = '{{ kpi }}' then kpis.value end) as {{ kpi }},
        max(case when targets.kpi_name = '{{ kpi }}' then targets.target end) as {{ kpi }}_walk,
        max(case when targets.kpi_name = '{{ kpi }}' then targets.run_target end) as {{ kpi }}_run,
        max(case when targets.kpi_name = '{{ kpi }}' then targets.warn_tolerance end) as {{ kpi }}_tolerance{% if not loop.last %},{% endif %}
        {% endfor %}
    from kpis
    inner join targets
        on kpis.kpi_name = targets.kpi_name
    group by kpis.billing_period, kpis.billing_currency

),

team_evidence as (

    -- teams with cost in the period (not 'unallocated'), and what the configuration says about them
    select
        budget_forecast.billing_period,
        budget_forecast.billing_currency,
        count(*) as teams_with_cost,
        sum(case when budget_forecast.budget is not null then 1 else 0 end) as teams_with_budget,
        sum(case when nullif(trim(teams.alert_channel), '') is not null then 1 else 0 end) as teams_with_alert_channel,
        sum(case when nullif(trim(teams.owner), '') is not null then 1 else 0 end) as teams_with_owner,
        sum(case when teams.accountability in ('showback', 'chargeback') then 1 else 0 end) as teams_with_accountability,
        sum(case when teams.accountability = 'chargeback' then 1 else 0 end) as teams_with_chargeback
    from budget_forecast
    left join teams
        on budget_forecast.team = teams.team
    where budget_forecast.team <> 'unallocated'
        and budget_forecast.month_to_date_cost <> 0
    group by budget_forecast.billing_period, budget_forecast.billing_currency

),

unit_evidence as (

    select
        billing_period,
        billing_currency,
        sum(case when cost_per_unit is not null then 1 else 0 end) as unit_metrics_computed
    from unit_costs
    group by billing_period, billing_currency

),

evidence as (

    select
        kpi_values.*,
        coalesce(team_evidence.teams_with_cost, 0) as teams_with_cost,
        coalesce(team_evidence.teams_with_budget, 0) as teams_with_budget,
        coalesce(team_evidence.teams_with_alert_channel, 0) as teams_with_alert_channel,
        coalesce(team_evidence.teams_with_owner, 0) as teams_with_owner,
        coalesce(team_evidence.teams_with_accountability, 0) as teams_with_accountability,
        coalesce(team_evidence.teams_with_chargeback, 0) as teams_with_chargeback,
        coalesce(unit_evidence.unit_metrics_computed, 0) as unit_metrics_computed
    from kpi_values
    left join team_evidence
        on kpi_values.billing_period = team_evidence.billing_period
        and kpi_values.billing_currency = team_evidence.billing_currency
    left join unit_evidence
        on kpi_values.billing_period = unit_evidence.billing_period
        and kpi_values.billing_currency = unit_evidence.billing_currency

),

{%- set pct = "cast(round({0}, 1) as " ~ dbt.type_string() ~ ")" %}

scored as (

    select
        billing_period,
        billing_currency,
        'allocation' as capability,
        case
            when allocation_coverage_pct >= allocation_coverage_pct_run and shared_cost_pct > 0 then 'run'
            when allocation_coverage_pct >= allocation_coverage_pct_walk then 'walk'
            else 'crawl'
        end as level,
        'allocated ' || {{ pct.format('allocation_coverage_pct') }} || '% of effective cost (walk >= '
            || {{ pct.format('allocation_coverage_pct_walk') }} || '%, run >= '
            || {{ pct.format('allocation_coverage_pct_run') }} || '% with a shared-cost split); untagged '
            || {{ pct.format('untagged_cost_pct') }} || '%, shared split '
            || {{ pct.format('shared_cost_pct') }} || '%' as evidence
    from evidence

    union all

    select
        billing_period,
        billing_currency,
        'visibility' as capability,
        case
            when allocation_coverage_pct >= allocation_coverage_pct_walk - allocation_coverage_pct_tolerance
                and unit_metrics_computed > 0 then 'run'
            when allocation_coverage_pct >= allocation_coverage_pct_walk - allocation_coverage_pct_tolerance
                then 'walk'
            else 'crawl'
        end as level,
        'showback covers ' || {{ pct.format('allocation_coverage_pct') }} || '% of cost (walk >= '
            || {{ pct.format('allocation_coverage_pct_walk - allocation_coverage_pct_tolerance') }}
            || '%); ' || cast(unit_metrics_computed as {{ dbt.type_string() }}) || ' unit metric(s) computed (run >= 1)' as evidence
    from evidence

    union all

    select
        billing_period,
        billing_currency,
        'anomalies' as capability,
        case
            when teams_with_cost > 0 and teams_with_alert_channel = teams_with_cost then 'walk'
            else 'crawl'
        end as level,
        'daily anomaly detection; ' || cast(teams_with_alert_channel as {{ dbt.type_string() }}) || ' of '
            || cast(teams_with_cost as {{ dbt.type_string() }}) || ' teams with cost have an alert channel (walk: all); '
            || 'run needs hourly detection' as evidence
    from evidence

    union all

    select
        billing_period,
        billing_currency,
        'commitments' as capability,
        case
            when commitment_coverage_pct >= commitment_coverage_pct_run
                and commitment_utilization_pct >= commitment_utilization_pct_run then 'run'
            when commitment_coverage_pct >= commitment_coverage_pct_walk
                and commitment_utilization_pct >= commitment_utilization_pct_walk then 'walk'
            else 'crawl'
        end as level,
        'coverage ' || coalesce({{ pct.format('commitment_coverage_pct') }}, 'n/a') || '% (walk >= '
            || {{ pct.format('commitment_coverage_pct_walk') }} || '%, run >= '
            || {{ pct.format('commitment_coverage_pct_run') }} || '%), utilization '
            || coalesce({{ pct.format('commitment_utilization_pct') }}, 'n/a') || '% (walk >= '
            || {{ pct.format('commitment_utilization_pct_walk') }} || '%, run >= '
            || {{ pct.format('commitment_utilization_pct_run') }} || '%)' as evidence
    from evidence

    union all

    select
        billing_period,
        billing_currency,
        'cadence' as capability,
        case
            when teams_with_cost > 0 and teams_with_budget = teams_with_cost
                and forecast_accuracy_pct >= forecast_accuracy_pct_run then 'run'
            when teams_with_cost > 0 and teams_with_budget = teams_with_cost then 'walk'
            else 'crawl'
        end as level,
        cast(teams_with_budget as {{ dbt.type_string() }}) || ' of ' || cast(teams_with_cost as {{ dbt.type_string() }})
            || ' teams with cost have a budget and a month-end forecast (walk: all); forecast accuracy '
            || coalesce({{ pct.format('forecast_accuracy_pct') }}, 'n/a') || '% (run >= '
            || {{ pct.format('forecast_accuracy_pct_run') }} || '%)' as evidence
    from evidence

    union all

    select
        billing_period,
        billing_currency,
        'accountability' as capability,
        case
            when teams_with_cost > 0 and teams_with_accountability = teams_with_cost and teams_with_chargeback > 0
                and allocation_coverage_pct >= allocation_coverage_pct_run then 'run'
            when teams_with_cost > 0 and teams_with_accountability = teams_with_cost then 'walk'
            else 'crawl'
        end as level,
        cast(teams_with_accountability as {{ dbt.type_string() }}) || ' of ' || cast(teams_with_cost as {{ dbt.type_string() }})
            || ' teams with cost on showback or chargeback (walk: all), ' || cast(teams_with_chargeback as {{ dbt.type_string() }})
            || ' on chargeback (run: >= 1 and allocation >= '
            || {{ pct.format('allocation_coverage_pct_run') }} || '%)' as evidence
    from evidence

    union all

    select
        billing_period,
        billing_currency,
        'ownership' as capability,
        case
            when teams_with_cost > 0 and teams_with_owner = teams_with_cost then 'walk'
            else 'crawl'
        end as level,
        cast(teams_with_owner as {{ dbt.type_string() }}) || ' of ' || cast(teams_with_cost as {{ dbt.type_string() }})
            || ' teams with cost have a named owner (walk: all); a FinOps practice (run) is not visible in billing data'
            as evidence
    from evidence

)

select
    scored.*,
    {{ period_status_columns('scored.billing_period') }}
from scored
