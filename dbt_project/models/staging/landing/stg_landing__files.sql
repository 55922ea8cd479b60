{#-
    One row per landed parquet file with its billing period and a version string
    that changes whenever the loader rewrites it. The loader's zero-row
    `_empty.parquet` placeholders and its `.incoming` staging area have no
    billing period and are left out.
-#}
with source as (

    select * from {{ source('landing', 'files') }}

),

parsed as (

    select
        filename as file_path,
        -- same function and arguments on DuckDB, Spark and Trino ('' or NULL without a match)
        regexp_extract(filename, '/billing_period=([0-9]{4}-[0-9]{2})/', 1) as billing_month,
        size as file_size_bytes,
        last_modified
    from source
    where filename not like '%/.incoming/%'

),

final as (

    select
        file_path,
        cast({{ dbt.concat(['billing_month', "'-01'"]) }} as date) as billing_period,
        file_size_bytes,
        last_modified,
        {{ dbt.concat([
            'file_path', "':'",
            dbt.cast('file_size_bytes', dbt.type_string()), "':'",
            dbt.cast('last_modified', dbt.type_string()),
        ]) }} as file_version
    from parsed
    where billing_month is not null and billing_month <> ''

)

select * from final
