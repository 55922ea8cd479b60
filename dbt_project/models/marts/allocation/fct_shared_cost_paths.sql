{#-
    The published explainer of shared costs: through which chain of pools each dollar of a
    shared pool reached a team (int_allocation_paths, where the graph is solved). A view:
    int_allocation_paths is the stored table, incremental per billing period.
-#}
{{ config(materialized='view') }}

with paths as (

    select * from {{ ref('int_allocation_paths') }}

),

final as (

    select
        billing_period,
        billing_currency,
        team,
        origin_pool,
        origin_scope,
        path,
        cast(hops as {{ dbt.type_bigint() }}) as hops,
        share,
        billed_cost,
        effective_cost,
        billed_cost_rounded,
        effective_cost_rounded
    from paths

)

select * from final
