{#-
    Incremental by billing period, driven by the orchestrator (issue 17).

    A run is for a set of billing periods: the Dagster partitions of the run
    (orchestration/definitions.py sets FINOPS_BILLING_PERIODS='2026-09,2026-10'),
    or, for an analyst at the command line, `dbt build --vars '{billing_periods: [2026-10]}'`.
    Every period-grained model then reads and rewrites the rows of those periods
    only (DuckDB, Trino/Athena: delete+insert by billing_period; Spark: overwrite
    of the period partitions), and the tests of those models check those periods.
    Without periods (a plain `dbt build`), and on the first build of a table or
    with --full-refresh, every period is built.

    Which periods need a build is the orchestrator's business, not dbt's: it
    compares the landed deliveries with those of the last build
    (orchestration/build_plan.py). A model that needs history besides its own
    periods (a previous month to compare with, an anomaly baseline) reads it with
    `billing_period_filter(column, lookback_months=N)` and still writes only its
    own periods.

    FINOPS_BILLING_PERIODS is read only while executing, never while parsing, so
    a new set of periods does not cost dbt a full re-parse (a change of --vars does).
-#}

{% macro period_incremental_strategy() -%}
    {{ return('insert_overwrite' if target.type in ('spark', 'databricks') else 'delete+insert') }}
{%- endmacro %}


{#- The config of every period-incremental model: `{{ config(**billing_period_incremental_config()) }}`. -#}
{% macro billing_period_incremental_config() -%}
    {%- set config = {
        'materialized': 'incremental',
        'incremental_strategy': period_incremental_strategy(),
        'unique_key': 'billing_period',
        'on_schema_change': 'fail',
        'pre_hook': ['{{ delete_billing_periods() }}'],
    } -%}
    {#- Spark overwrites partitions; DuckDB files have none (dbt-duckdb warns on every model) -#}
    {%- if target.type in ('spark', 'databricks') -%}{%- do config.update({'partition_by': ['billing_period']}) -%}{%- endif -%}
    {{ return(config) }}
{%- endmacro %}


{#- Pre-hook of every period-incremental model: empty the periods this run rebuilds.
    delete+insert (and Spark's partition overwrite) only replace the periods the new
    rows have; a period whose re-delivery has no rows for this model any more (no
    shared cost left, say) would otherwise keep its old rows. -#}
{% macro delete_billing_periods() -%}
    {%- set periods = billing_periods_to_build() -%}
    {%- if periods is none or periods | length == 0 -%}
        select 1
    {%- elif target.type in ('spark', 'databricks') -%}
        alter table {{ this }} drop if exists
        {% for period in periods -%}
            partition (billing_period = '{{ period }}'){% if not loop.last %}, {% endif %}
        {%- endfor %}
    {%- else -%}
        delete from {{ this }} where {{ billing_period_filter('billing_period', periods=periods) }}
    {%- endif -%}
{%- endmacro %}


{#- The billing periods of this invocation as 'YYYY-MM-01' strings, sorted; none = every period. -#}
{% macro requested_billing_periods() -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set requested = var('billing_periods', none) -%}
    {%- if requested is none -%}
        {%- set from_env = env_var('FINOPS_BILLING_PERIODS', '') | trim -%}
        {%- if from_env == '' -%}{{ return(none) }}{%- endif -%}
        {%- set requested = from_env.split(',') -%}
    {%- elif requested is string -%}
        {%- set requested = requested.split(',') -%}
    {%- endif -%}
    {%- set periods = [] -%}
    {%- for period in requested -%}
        {%- set period = (period | string | trim)[:7] -%}
        {%- if not modules.re.match('^[0-9]{4}-(0[1-9]|1[0-2])$', period) -%}
            {{ exceptions.raise_compiler_error("billing period '" ~ period ~ "' (var billing_periods or FINOPS_BILLING_PERIODS) is not YYYY-MM") }}
        {%- endif -%}
        {%- if period ~ '-01' not in periods -%}{%- do periods.append(period ~ '-01') -%}{%- endif -%}
    {%- endfor -%}
    {{ return(periods | sort) }}
{%- endmacro %}


{#- The periods this model (re)builds now: none (= all) on a first build or a full refresh. -#}
{% macro billing_periods_to_build() -%}
    {%- if not execute or model.resource_type == 'unit_test' or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {{ return(requested_billing_periods()) }}
{%- endmacro %}


{#- 'YYYY-MM-01' of the month `months` before the one of `period` ('YYYY-MM-01'). -#}
{% macro months_before(period, months) -%}
    {%- set index = (period[:4] | int) * 12 + (period[5:7] | int) - 1 - months -%}
    {{ return('%04d-%02d-01' | format(index // 12, index % 12 + 1)) }}
{%- endmacro %}


{#- A WHERE condition keeping the periods this model builds (plus `lookback_months` before
    each, for a model that reads history). A literal list, so the engine prunes landing
    files and row groups by billing period. `periods` defaults to billing_periods_to_build(). -#}
{% macro billing_period_filter(column, lookback_months=0, periods='this model') -%}
    {%- if periods == 'this model' -%}{%- set periods = billing_periods_to_build() -%}{%- endif -%}
    {%- if periods is none -%}
        1 = 1
    {%- elif periods | length == 0 -%}
        1 = 0
    {%- else -%}
        {%- set wanted = [] -%}
        {%- for period in periods -%}
            {%- for back in range(lookback_months + 1) -%}
                {%- set month = months_before(period, back) -%}
                {%- if month not in wanted -%}{%- do wanted.append(month) -%}{%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {{ column }} in (
            {%- for period in wanted | sort -%}
            cast('{{ period }}' as date){% if not loop.last %}, {% endif %}
            {%- endfor -%}
        )
    {%- endif -%}
{%- endmacro %}


{#- The relations a test is scoped to the run's billing periods on: the period-incremental
    tables and the line-item views they read (10M+ rows a month). -#}
{% macro is_period_scoped_relation(identifier) -%}
    {%- if identifier in ['stg_aws_cur__cur2_line_items', 'stg_aws_cur__legacy_line_items',
                          'stg_focus__line_items', 'int_line_items_unioned'] -%}
        {{ return(true) }}
    {%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == identifier
            and node.config.materialized == 'incremental' and node.config.unique_key == 'billing_period' -%}
        {{ return(true) }}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}


{#-
    dbt's documented hook for a test's `where` config (docs: resource-configs/where,
    "custom logic"): a test on a period-scoped relation checks the billing periods of
    this run only (the others were checked when they were built); a run without
    periods checks everything.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}{%- do conditions.append('(' ~ where ~ ')') -%}{%- endif -%}
    {%- if execute and is_period_scoped_relation(relation.identifier) -%}
        {%- set periods = requested_billing_periods() -%}
        {%- if periods is not none -%}
            {%- do conditions.append(billing_period_filter('billing_period', periods=periods)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}
