{#-
    What was actually saved, per billing period (docs/optimize.md):

    - opportunity: an opportunity of period P (not overlapping) that is gone in P+1 because the
      resource no longer bills the usage type that triggered it (the gp2 volume is billed as
      gp3, the instance runs another type, the address was released, the NAT gateway or the
      snapshot deleted, the bucket's Standard storage moved). Realized in P+1, when the resource
      still bills usage in the same unit (GB-months, hours): what that usage would have cost at
      P's rate − what it cost, so a 31-day month is not compared with a 30-day one; when it
      is gone: its whole cost in P. Steady on-demand compute is realized through commitments,
      below, not per instance.
    - commitment: Savings Plans and Reserved Instances, from the bill's own commitment columns
      (fct_commitments_monthly): on-demand equivalent of the covered usage − what the
      commitment cost, unused part included.

    A table rebuilt whole: it compares consecutive months.
-#}
{{ config(materialized='table') }}

with opportunities as (

    select * from {{ ref('fct_savings_opportunities') }}
    where not is_overlapping and kind <> 'steady_on_demand_compute'

),

usage_rows as (

    select * from {{ ref('int_optimize_resource_usage_monthly') }}

),

commitments as (

    select * from {{ ref('fct_commitments_monthly') }}

),

periods as (

    select distinct billing_period from usage_rows

),

resource_months as (

    select billing_period, resource_id, sum(billed_cost) as resource_cost, max(usage_type) as usage_type
    from usage_rows
    group by billing_period, resource_id

),

-- each resource's usage per unit and month (the rate before, the quantity after)
resource_units as (

    select
        billing_period, resource_id, usage_type, consumed_unit,
        sum(consumed_quantity) as quantity,
        sum(billed_cost) as cost
    from usage_rows
    group by billing_period, resource_id, usage_type, consumed_unit

),

unit_months as (

    select billing_period, resource_id, consumed_unit, sum(quantity) as quantity, sum(cost) as cost
    from resource_units
    group by billing_period, resource_id, consumed_unit

),

-- the usage types each resource bills in each month
resource_usage_types as (

    select distinct billing_period, resource_id, usage_type from usage_rows

),

candidates as (

    select
        opportunities.*,
        next_period.billing_period as realized_period
    from opportunities
    inner join periods as next_period
        on next_period.billing_period = cast({{ dbt.dateadd('month', 1, 'opportunities.billing_period') }} as date)

),

realized_opportunities as (

    select
        candidates.realized_period as billing_period,
        'opportunity' as source,
        candidates.opportunity_id,
        candidates.kind,
        candidates.resource_id,
        candidates.team,
        candidates.billing_period as previous_period,
        candidates.usage_type as usage_type_before,
        after_month.usage_type as usage_type_after,
        before_month.resource_cost as cost_before,
        coalesce(after_month.resource_cost, 0) as cost_after,
        case
            when after_unit.quantity > 0 and trigger_usage.quantity > 0
                then trigger_usage.cost / trigger_usage.quantity * after_unit.quantity - after_unit.cost
            else before_month.resource_cost - coalesce(after_month.resource_cost, 0)
        end as realized_monthly_saving,
        candidates.estimated_monthly_saving,
        candidates.decision,
        candidates.billing_currency
    from candidates
    inner join resource_months as before_month
        on candidates.billing_period = before_month.billing_period
        and candidates.resource_id = before_month.resource_id
    left join resource_months as after_month
        on candidates.realized_period = after_month.billing_period
        and candidates.resource_id = after_month.resource_id
    -- the usage that triggered the opportunity, and the resource's usage in the same unit after
    left join resource_units as trigger_usage
        on candidates.billing_period = trigger_usage.billing_period
        and candidates.resource_id = trigger_usage.resource_id
        and candidates.usage_type = trigger_usage.usage_type
    left join unit_months as after_unit
        on candidates.realized_period = after_unit.billing_period
        and candidates.resource_id = after_unit.resource_id
        and trigger_usage.consumed_unit = after_unit.consumed_unit
    -- gone: the same kind no longer flags the resource ...
    left join {{ ref('fct_savings_opportunities') }} as still_open
        on still_open.billing_period = candidates.realized_period
        and still_open.opportunity_id = candidates.opportunity_id
    -- ... because the usage type that triggered it is no longer billed
    left join resource_usage_types as same_usage
        on same_usage.billing_period = candidates.realized_period
        and same_usage.resource_id = candidates.resource_id
        and same_usage.usage_type = candidates.usage_type
    where still_open.opportunity_id is null
        and same_usage.usage_type is null

),

realized_commitments as (

    select
        billing_period,
        'commitment' as source,
        {{ dbt.hash("'commitment|' || commitment_type") }} as opportunity_id,
        case when commitment_type = 'Savings Plan' then 'savings_plan' else 'reserved_instance' end as kind,
        cast(null as {{ dbt.type_string() }}) as resource_id,
        'organisation' as team,
        cast(null as date) as previous_period,
        cast(null as {{ dbt.type_string() }}) as usage_type_before,
        cast(null as {{ dbt.type_string() }}) as usage_type_after,
        covered_cost as cost_before,
        commitment_cost as cost_after,
        savings as realized_monthly_saving,
        cast(null as double) as estimated_monthly_saving,
        cast(null as {{ dbt.type_string() }}) as decision,
        billing_currency
    from commitments
    where covered_cost <> 0 or commitment_cost <> 0

),

final as (

    select * from realized_opportunities
    union all
    select * from realized_commitments

)

select
    final.*,
    {{ period_status_columns('final.billing_period') }}
from final
