{#-
    Per-billing-period incremental models (issue: a daily refresh must not rebuild
    history). A model that uses these macros stores on every row the `_build_version`
    of its billing period and, on an incremental run, rebuilds exactly the periods
    whose expected version differs from the stored one:

        expected version = md5(version of the period upstream || logic fingerprint)

    - version upstream: for the model that reads the landing files, a digest of the
      period's landing files (name, size, modification time; a re-delivery rewrites
      the file); for a model that reads another period-incremental model, that
      model's `_build_version` of the period. A change anywhere upstream therefore
      ripples down the chain, period by period.
    - logic fingerprint: the checksums of the model's own SQL file and of every
      model and seed it depends on, directly or not, plus the values of the vars it
      names. Editing a seed (aliases, rules, teams...), a model or one of those vars
      rebuilds every period automatically. Editing a *macro* is not seen (dbt does
      not expose macro sources): bump var('incremental_logic_version') or run
      `dbt build --full-refresh`.

    When every period must be rebuilt (a logic change), the table is dropped and
    created afresh, so column changes need no --full-refresh. Rows of a period no
    longer landed are removed only then: after deleting a landed month, run
    `dbt build --full-refresh`.

    The materialization config is the same everywhere (`billing_period_incremental_config`):
    DuckDB and Trino/Athena delete+insert the rebuilt periods; Spark overwrites the
    period partitions (parquet supports no merge).
-#}

{% macro period_incremental_strategy() -%}
    {{ return('insert_overwrite' if target.type in ('spark', 'databricks') else 'delete+insert') }}
{%- endmacro %}


{#- The config of every period-incremental model: `{{ config(**billing_period_incremental_config()) }}`. -#}
{% macro billing_period_incremental_config() -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': period_incremental_strategy(),
        'unique_key': 'billing_period',
        'partition_by': ['billing_period'],
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}


{#- The last select of a period-incremental model: the rows of CTE `rows_cte` with their
    period's `_build_version` (from its CTE `period_versions`) and `_built_at`. -#}
{% macro select_with_build_version(rows_cte) -%}
    select
        {{ rows_cte }}.*,
        period_versions.build_version as _build_version,
        {{ build_started_at() }} as _built_at
    from {{ rows_cte }}
    inner join period_versions
        on {{ rows_cte }}.billing_period = period_versions.billing_period
{%- endmacro %}


{#- Digest of everything a model's rows depend on besides the data itself. -#}
{% macro logic_fingerprint(var_names=[], unique_id=none) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set parts = ['logic-version:' ~ var('incremental_logic_version', 1)] -%}
    {%- set pending = [unique_id or model.unique_id] -%}
    {%- set seen = [] -%}
    {#- breadth-first over the DAG: `pending` grows while we iterate over it -#}
    {%- for unique_id in pending -%}
        {%- if unique_id not in seen and unique_id in graph.nodes -%}
            {%- do seen.append(unique_id) -%}
            {%- set node = graph.nodes[unique_id] -%}
            {%- do parts.append(unique_id ~ ':' ~ node.checksum.checksum) -%}
            {%- for parent in node.depends_on.nodes -%}
                {%- do pending.append(parent) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in var_names -%}
        {%- do parts.append('var:' ~ name ~ '=' ~ tojson(var(name))) -%}
    {%- endfor -%}
    {{ return(local_md5(parts | sort | join('|'))) }}
{%- endmacro %}


{#- SQL: (billing_period, build_version) for every landed billing period. -#}
{% macro landing_period_versions(var_names=[], unique_id=none, files_relation=none) -%}
    select
        billing_period,
        {{ dbt.hash(dbt.concat([
            sorted_string_agg('file_version'),
            "'" ~ logic_fingerprint(var_names, unique_id) ~ "'",
        ])) }} as build_version
    from {{ files_relation or ref('stg_landing__files') }}
    where billing_period is not null
    group by billing_period
{%- endmacro %}


{#- SQL: (billing_period, build_version) for every period of a period-incremental upstream. -#}
{% macro upstream_period_versions(upstream, var_names=[]) -%}
    select
        billing_period,
        {{ dbt.hash(dbt.concat(['max(_build_version)', "'" ~ logic_fingerprint(var_names) ~ "'"])) }}
            as build_version
    from {{ upstream }}
    group by billing_period
{%- endmacro %}


{#- SQL: the billing periods of `expected_sql` (billing_period, build_version) whose version
    is not the one stored in `built_relation` (its `_build_version`). -#}
{% macro changed_periods_sql(expected_sql, built_relation) -%}
    select expected.billing_period
    from ({{ expected_sql }}) expected
    left join (select distinct billing_period, _build_version from {{ built_relation }}) built
        on expected.billing_period = built.billing_period
        and expected.build_version = built._build_version
    where built.billing_period is null
{%- endmacro %}


{#-
    The billing periods this run must (re)build: all of them on a first or full
    build (returns none), else the periods whose expected version is not the one
    stored in {{ this }} (a list of 'YYYY-MM-DD' strings, possibly empty).
-#}
{% macro billing_periods_to_build(period_versions_sql) -%}
    {#- a dbt unit test builds the model from its fixtures: all of them -#}
    {%- if not execute or model.resource_type == 'unit_test' or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {%- if existing is none -%}{{ return(none) }}{%- endif -%}
    {%- if '_build_version' not in adapter.get_columns_in_relation(existing) | map(attribute='name') | list -%}
        {#- A table from a release where this model was not incremental: replace it. -#}
        {{ log(model.name ~ ': the table has no build versions yet, rebuilding it', info=true) }}
        {%- do adapter.drop_relation(existing) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select cast(billing_period as {{ dbt.type_string() }})
        from ({{ changed_periods_sql(period_versions_sql, existing) }}) changed
        order by 1
    {%- endset -%}
    {%- set periods = run_query(query).columns[0].values() | list -%}
    {%- set expected_count = run_query('select count(*) from (' ~ period_versions_sql ~ ') expected').columns[0].values()[0] -%}
    {%- if periods | length > 0 and periods | length == expected_count and flags.WHICH in ('run', 'build') -%}
        {#- Nothing to keep (a first build after a logic change, or a one-month warehouse):
            rebuild the table from scratch, which also follows column changes and drops
            periods no longer landed. The materialization then sees no table and creates it. -#}
        {{ log(model.name ~ ': every billing period changed, rebuilding the table', info=true) }}
        {%- do adapter.drop_relation(existing) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ log(model.name ~ ': billing periods to build: ' ~ (periods | join(', ') or 'none'), info=true) }}
    {{ return(periods) }}
{%- endmacro %}


{#- A WHERE condition keeping the periods to build (none = all). A literal list, so
    the engine can prune landing files / row groups by billing period. -#}
{% macro billing_period_filter(column, periods) -%}
    {%- if periods is none -%}
        1 = 1
    {%- elif periods | length == 0 -%}
        1 = 0
    {%- else -%}
        {{ column }} in (
            {%- for period in periods -%}
            cast('{{ period }}' as date){% if not loop.last %}, {% endif %}
            {%- endfor -%}
        )
    {%- endif -%}
{%- endmacro %}


{#- The timestamp a period-incremental model stores as `_built_at` on the rows it (re)builds. -#}
{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}


{#-
    Tests on the line-item relations (10M+ rows a month) check the billing periods
    this build re-reads, so a daily refresh re-tests the two months it re-read, not
    twelve; periods not rebuilt were tested when they were built. Those tests run
    before or after int_line_items_aggregated_daily, so the periods are: those whose
    landing files differ from what the aggregate was built from (before it runs),
    else those of its latest `_built_at` (after it, or in a later `dbt test`). A full
    build stamps every period alike, so all are tested. Returns a list of 'YYYY-MM-DD'
    strings, or none (= every period) before the first build.
-#}
{% macro periods_of_last_build() -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set aggregate_node = model_node('int_line_items_aggregated_daily') -%}
    {%- set aggregate = adapter.get_relation(aggregate_node.database, aggregate_node.schema, aggregate_node.alias) -%}
    {%- if aggregate is none -%}{{ return(none) }}{%- endif -%}
    {%- set files_node = model_node('stg_landing__files') -%}
    {%- set files = adapter.get_relation(files_node.database, files_node.schema, files_node.alias) -%}
    {%- set query -%}
        with pending as (
            {{ changed_periods_sql(landing_period_versions(unique_id=aggregate_node.unique_id, files_relation=files),
                                   aggregate) }}
        ),
        last_built as (
            select distinct billing_period from {{ aggregate }}
            where _built_at = (select max(_built_at) from {{ aggregate }})
                and not exists (select 1 from pending)
        )
        select distinct cast(billing_period as {{ dbt.type_string() }}) as billing_period
        from (select billing_period from pending union all select billing_period from last_built) periods
        order by 1
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}


{#- The graph node of a model of this project, by name (for macros that run outside it, like tests). -#}
{% macro model_node(name) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
        {{ return(node) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error('model ' ~ name ~ ' not found in the project') }}
{%- endmacro %}


{#- The tables that are incremental per billing period (they store `_built_at`). -#}
{% macro period_incremental_relations() -%}
    {%- set names = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model'
            and node.config.materialized == 'incremental' and node.config.unique_key == 'billing_period' -%}
        {%- do names.append(node.alias) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}


{#- The relations holding one row per line item: their tests see the periods of the last build. -#}
{% macro line_item_relations() -%}
    {{ return([
        'stg_aws_cur__cur2_line_items',
        'stg_aws_cur__legacy_line_items',
        'stg_focus__line_items',
        'int_line_items_unioned',
        'int_line_items_deduplicated',
        'int_line_items_tagged',
    ]) }}
{%- endmacro %}


{#-
    dbt's hook for a test's `where` config (see dbt docs: resource-configs/where),
    extended: a generic test on a line-item relation is limited to the periods of
    the last build, with a literal list so the engine prunes the landing files; one
    on a period-incremental table to the periods its latest run (re)built.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}{%- do conditions.append('(' ~ where ~ ')') -%}{%- endif -%}
    {%- if relation.identifier in line_item_relations() -%}
        {%- do conditions.append(billing_period_filter('billing_period', periods_of_last_build())) -%}
    {%- elif execute and relation.identifier in period_incremental_relations() -%}
        {#- the periods this table's latest run (re)built; the others were tested then -#}
        {%- do conditions.append('_built_at = (select max(_built_at) from ' ~ relation ~ ')') -%}
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
