{#-
    The published allocation fact. Its logic lives in int_cost_allocated_daily so
    that other intermediate models (team costs for budgets, anomalies, unit
    economics) build on it without an intermediate model reading a mart.
-#}
with allocated as (

    select * from {{ ref('int_cost_allocated_daily') }}

),

final as (

    select * from allocated

)

select * from final
