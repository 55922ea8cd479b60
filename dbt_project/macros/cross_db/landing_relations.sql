{#-
    The dbt sources `landing.<format>` and `business.drivers` on every target.

    DuckDB reads the files directly: each source has `meta.external_location`
    (read_parquet / read_csv over the landing globs, see the sources ymls), so
    there is nothing to create. Other engines have no such reader: this macro
    (dbt_project.yml on-run-start) declares, before anything builds,
      landing.<format>__files  an external parquet table over
                               <landing location>/<format>/ (all billing periods),
                               with the columns of the landing contract
                               (macro landing_columns, generated from
                               orchestration/landing_schema.py)
      landing.<format>         a view adding file_row_number (the row's position in its
                               landing file, as DuckDB's read_parquet(file_row_number=true))
      business.drivers__files  the driver CSV files as text, one row per file
      business.drivers         a view parsing them by header name (like DuckDB's
                               read_csv(union_by_name=true, all_varchar=true, filename=true))
      usage.usage_drivers      an external parquet table over <landing location>/usage_drivers/
    so `source('landing', 'cur2')` resolves to the same rows on every target,
    without a copy of any model. Locations: var('landing_location') and
    var('drivers_location'), by default $FINOPS_DATA_DIR/landing and
    $FINOPS_DATA_DIR/<var business_drivers_folder> (a local path or any URI the
    engine reads, e.g. s3://bucket/finops/landing on EMR).
-#}
{% macro create_landing_relations() -%}
    {{ return(adapter.dispatch('create_landing_relations', 'finops')()) }}
{%- endmacro %}

{% macro duckdb__create_landing_relations() -%}
    {#- nothing to do: dbt-duckdb reads the sources' external_location -#}
{%- endmacro %}

{% macro default__create_landing_relations() -%}
    {{ exceptions.raise_compiler_error(
        "The landing sources have no definition for adapter '" ~ adapter.type() ~ "': add a macro "
        ~ adapter.type() ~ "__create_landing_relations (see docs/engines.md and "
        ~ "macros/cross_db/landing_relations.sql for Spark's)") }}
{%- endmacro %}


{% macro landing_location() -%}
    {{- return(var('landing_location', none) or (env_var('FINOPS_DATA_DIR') ~ '/landing')) -}}
{%- endmacro %}

{% macro drivers_location() -%}
    {{- return(var('drivers_location', none)
        or (env_var('FINOPS_DATA_DIR') ~ '/' ~ var('business_drivers_folder'))) -}}
{%- endmacro %}


{#- A landing column type of the contract (DuckDB spelling) in the target's spelling. -#}
{% macro landing_column_type(duckdb_type) -%}
    {{ return(adapter.dispatch('landing_column_type', 'finops')(duckdb_type)) }}
{%- endmacro %}

{% macro default__landing_column_type(duckdb_type) -%}
    {{ return(duckdb_type) }}
{%- endmacro %}

{% macro spark__landing_column_type(duckdb_type) -%}
    {#- The loader writes naive UTC timestamps: Spark reads them as TIMESTAMP_NTZ. -#}
    {%- set scalars = {'VARCHAR': 'string', 'DOUBLE': 'double', 'DATE': 'date',
                       'TIMESTAMP': 'timestamp_ntz', 'BIGINT': 'bigint', 'INTEGER': 'int',
                       'BOOLEAN': 'boolean'} -%}
    {%- set t = duckdb_type | trim | upper -%}
    {%- if t.startswith('MAP(') and t.endswith(')') -%}
        {%- set kv = t[4:-1].split(',') -%}
        {{ return('map<' ~ scalars[kv[0] | trim] ~ ', ' ~ scalars[kv[1] | trim] ~ '>') }}
    {%- elif t in scalars -%}
        {{ return(scalars[t]) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("spark__landing_column_type: no Spark type for " ~ duckdb_type) }}
    {%- endif -%}
{%- endmacro %}


{% macro spark__create_landing_relations() -%}
    {%- if execute -%}
    {%- set landing_tables = [] -%}
    {%- for node in graph.sources.values() if node.source_name == 'landing' -%}
        {%- do landing_tables.append(node.name) -%}
    {%- endfor -%}
    {%- do run_query('create database if not exists landing') -%}
    {%- for format_name in landing_tables | sort -%}
        {%- set columns = [] -%}
        {%- for column in landing_columns(format_name) -%}
            {%- do columns.append(adapter.quote(column[0]) ~ ' ' ~ landing_column_type(column[1])) -%}
        {%- endfor -%}
        {#- Re-declared on every run (an external table: dropping it leaves the files alone), so a
            changed landing contract or location never needs a manual step. Files whose names start
            with '_' or '.' (the schema file, files being written) are skipped by Spark. -#}
        {%- do run_query('drop table if exists landing.' ~ format_name ~ '__files') -%}
        {%- do run_query(
            'create table landing.' ~ format_name ~ '__files (' ~ columns | join(', ') ~ ')'
            ~ ' using parquet options (path \'' ~ landing_location() ~ '/' ~ format_name ~ '\','
            ~ ' recursiveFileLookup \'true\', pathGlobFilter \'*.parquet\')') -%}
        {%- do run_query(
            'create or replace view landing.' ~ format_name ~ ' as select *, '
            ~ '_metadata.row_index as file_row_number from landing.' ~ format_name ~ '__files') -%}
    {%- endfor -%}

    {#- usage drivers of shared pools (orchestration/ingestion/usage_drivers.py LANDING_COLUMNS) -#}
    {%- do run_query('create database if not exists usage') -%}
    {%- do run_query('drop table if exists usage.usage_drivers') -%}
    {%- do run_query(
        'create table usage.usage_drivers (billing_period date, usage_date date, pool string, consumer string,'
        ~ ' quantity double, unit string, _source_file string, _source_row bigint) using parquet options (path \''
        ~ landing_location() ~ '/usage_drivers\', recursiveFileLookup \'true\', pathGlobFilter \'*.parquet\')') -%}

    {%- do run_query('create database if not exists business') -%}
    {%- do run_query('drop table if exists business.drivers__files') -%}
    {%- do run_query(
        'create table business.drivers__files (value string) using text options (path \''
        ~ drivers_location() ~ '\', wholetext \'true\', pathGlobFilter \'*.csv\')') -%}
    {%- do run_query('create or replace view business.drivers as ' ~ spark__drivers_csv_select('business.drivers__files')) -%}
    {%- endif -%}
{%- endmacro %}


{#-
    The driver CSV files (one text row per file) as rows of text columns period,
    metric_name, value, revenue, filename: each file's header names its columns
    (any order; a column a file lacks is NULL), fields are parsed with from_csv
    (quotes as in CSV), blank lines are skipped.
-#}
{% macro spark__drivers_csv_select(files_relation, max_columns=16) -%}
    {%- set schema = [] -%}
    {%- for i in range(max_columns) %}{% do schema.append('c' ~ i ~ ' string') %}{% endfor -%}
    {%- set schema = schema | join(', ') -%}
    {%- set fields = [] -%}
    {%- for i in range(max_columns) %}{% do fields.append('parsed.c' ~ i) %}{% endfor -%}
    with files as (
        select
            regexp_replace(_metadata.file_path, '^file:', '') as filename,
            split(regexp_replace(value, '\r', ''), '\n') as lines
        from {{ files_relation }}
    ),
    headers as (
        select
            filename,
            lines,
            transform(
                array({% for i in range(max_columns) %}header.c{{ i }}{% if not loop.last %}, {% endif %}{% endfor %}),
                name -> lower(trim(name))
            ) as header
        from (
            select filename, lines, from_csv(lines[0], '{{ schema }}') as header
            from files
            where size(lines) > 0
        )
    ),
    file_lines as (
        select headers.filename, headers.header, line.pos, line.col as line
        from headers
        lateral view posexplode(headers.lines) line as pos, col
    ),
    records as (
        select
            filename,
            header,
            array({{ fields | join(', ') }}) as fields
        from (
            select filename, header, from_csv(line, '{{ schema }}') as parsed
            from file_lines
            where pos > 0 and trim(line) <> ''
        )
    )
    select
        {% for column in ['period', 'metric_name', 'value', 'revenue'] -%}
        case when array_position(header, '{{ column }}') > 0
            then fields[array_position(header, '{{ column }}') - 1] end as {{ column }},
        {% endfor -%}
        filename
    from records
{%- endmacro %}
