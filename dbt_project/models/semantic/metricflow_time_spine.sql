{#-
    MetricFlow's time spine: one row per day (it joins metrics to it for time
    offsets and gap filling). Covers the years a bill can plausibly have.
-#}
{{ config(materialized='table') }}

with days as (

    {{ dbt.date_spine('day', "cast('2015-01-01' as date)", "cast('2036-01-01' as date)") }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
