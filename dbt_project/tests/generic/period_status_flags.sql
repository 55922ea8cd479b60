{#-
    Fails for every row whose is_closed_period / is_latest_period break the mart contract
    (macros/marts/period_status_columns.sql, docs/warehouse.md): a flag is NULL,
    is_latest_period is not "the newest billing period of this mart", or a closed period
    comes after an open one.
-#}
{% test period_status_flags(model, period_column='billing_period') %}

with flagged as (

    select {{ period_column }} as billing_period, is_closed_period, is_latest_period
    from {{ model }}

),

bounds as (

    select
        max(billing_period) as latest_period,
        min(case when not is_closed_period then billing_period end) as first_open_period
    from flagged

)

select flagged.*
from flagged
cross join bounds
where flagged.is_closed_period is null
    or flagged.is_latest_period is null
    or flagged.is_latest_period <> (flagged.billing_period = bounds.latest_period)
    or (flagged.is_closed_period and flagged.billing_period >= bounds.first_open_period)

{% endtest %}
