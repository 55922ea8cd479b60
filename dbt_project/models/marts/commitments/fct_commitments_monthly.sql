{#-
    The published commitment health per billing period. The logic lives in
    int_commitments_monthly, a table incremental per billing period.
-#}
{{ config(materialized='view') }}

with commitments as (

    select * from {{ ref('int_commitments_monthly') }}

),

final as (

    select
        billing_period,
        commitment_type,
        billing_currency,
        eligible_cost,
        covered_cost,
        coverage_pct,
        commitment_cost,
        used_commitment,
        unused_commitment_cost,
        utilization_pct,
        savings,
        period_eligible_cost
    from commitments

)

select
    final.*,
    {{ period_status_columns('final.billing_period') }}
from final
