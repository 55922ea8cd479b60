{#-
    Usage drivers summed per billing period × pool × consumer (daily rows are summed into
    their month). The landing folder holds no file until the first driver file is landed; a
    glob with no match is an error in DuckDB, so the model then selects a typed empty
    relation instead (as stg_business__drivers does).
-#}
{%- set drivers = source('usage', 'usage_drivers') %}
{%- set has_files = true %}
{%- if execute and target.type == 'duckdb' %}
    {%- set pattern = env_var('FINOPS_DATA_DIR') ~ '/landing/usage_drivers/*/*.parquet' %}
    {%- set found = run_query("select count(*) from glob('" ~ pattern | replace("'", "''") ~ "')") %}
    {%- set has_files = found.columns[0].values()[0] > 0 %}
{%- endif %}

with source as (

    {% if has_files -%}
    select * from {{ drivers }}
    {%- else -%}
    select
        cast(null as date) as billing_period,
        cast(null as date) as usage_date,
        cast(null as {{ dbt.type_string() }}) as pool,
        cast(null as {{ dbt.type_string() }}) as consumer,
        cast(null as {{ api.Column.translate_type('double') }}) as quantity,
        cast(null as {{ dbt.type_string() }}) as unit,
        cast(null as {{ dbt.type_string() }}) as _source_file,
        cast(null as {{ dbt.type_bigint() }}) as _source_row
    where 1 = 0
    {%- endif %}

),

summed as (

    select
        cast(billing_period as date) as billing_period,
        pool,
        consumer,
        sum(cast(quantity as {{ api.Column.translate_type('double') }})) as quantity,
        min(unit) as unit,
        count(*) as driver_rows
    from source
    group by cast(billing_period as date), pool, consumer

)

select * from summed
