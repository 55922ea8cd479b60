{#-
    The drivers folder may hold no CSV at all (a warehouse built from real exports
    before anyone delivered drivers); a glob with no match is an error in DuckDB,
    so the model then selects a typed empty relation instead. source() is still
    referenced, so lineage and docs are the same either way.
-#}
{%- set drivers = source('business', 'drivers') %}
{%- set has_files = true %}
{%- if execute and target.type == 'duckdb' %}
    {%- set pattern = env_var('FINOPS_DATA_DIR') ~ '/' ~ var('business_drivers_folder') ~ '/*.csv' %}
    {%- set found = run_query("select count(*) from glob('" ~ pattern | replace("'", "''") ~ "')") %}
    {%- set has_files = found.columns[0].values()[0] > 0 %}
{%- endif %}

with source as (

    {% if has_files -%}
    select * from {{ drivers }}
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as period,
        cast(null as {{ dbt.type_string() }}) as metric_name,
        cast(null as {{ dbt.type_string() }}) as value,
        cast(null as {{ dbt.type_string() }}) as revenue,
        cast(null as {{ dbt.type_string() }}) as filename
    where 1 = 0
    {%- endif %}

),

renamed as (

    select
        cast({{ dbt.date_trunc('month', dbt.safe_cast(
            "case when length(trim(period)) = 7 then trim(period) || '-01' else trim(period) end",
            api.Column.translate_type('date'))) }} as date) as billing_period,
        lower(trim(metric_name)) as metric_name,
        {{ dbt.safe_cast("nullif(trim(value), '')", api.Column.translate_type('double')) }} as driver_value,
        {{ dbt.safe_cast("nullif(trim(revenue), '')", api.Column.translate_type('double')) }} as revenue,
        filename as source_file
    from source
    where nullif(trim(metric_name), '') is not null

)

select * from renamed
