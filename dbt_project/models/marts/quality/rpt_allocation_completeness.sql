{#-
    The evidence behind two Great Expectations suites (orchestration/checks.py):
    allocation completeness (blocking) and untagged spend against its KPI target
    (warn). Computed here, in SQL, so the checks validate one small row per
    billing period and currency instead of pulling line items into pandas. Money of
    payers billed in different currencies is never summed: each currency is a row.
-#}
{%- set dimensions = ['team', 'environment', 'product', 'cost_center', 'allocation_method'] %}

with line_items as (

    select * from {{ ref('int_line_items_counted_daily') }}

),

allocated as (

    select * from {{ ref('fct_cost_allocated_daily') }}

),

untagged_kpi as (

    -- the untagged share is the KPI's value (one definition: the semantic layer), with its target
    select billing_period, billing_currency, value, numerator, denominator, target
    from {{ ref('fct_finops_kpis_monthly') }}
    where kpi_name = 'untagged_cost_pct'

),

shared_cost_pools as (

    select * from {{ ref('int_shared_cost_pools') }}

),

-- usage pools that had no driver rows in the period and fell back to their fallback_split_method
usage_fallbacks as (

    select
        billing_period,
        billing_currency,
        count(*) as usage_pools_on_fallback,
        {{ sorted_string_agg('shared_cost_rule_name', "', '") }} as usage_fallback_pools
    from (
        select distinct billing_period, billing_currency, shared_cost_rule_name
        from {{ ref('int_shared_cost_shares') }}
        where split_method = 'usage' and applied_split_method <> 'usage'
    ) as fell_back
    group by billing_period, billing_currency

),

shared_pool_totals as (

    select
        billing_period,
        billing_currency,
        sum(billed_cost) as shared_pool_billed_cost
    from shared_cost_pools
    group by billing_period, billing_currency

),

canonical_totals as (

    select
        billing_period,
        billing_currency,
        sum(line_item_count) as line_item_count,
        sum(billed_cost) as canonical_billed_cost,
        sum(effective_cost) as canonical_effective_cost,
        -- reconciliation evidence (the benchmark's baseline recomputes it from the raw files):
        -- billed cost of line items without a team tag, taggable or not. Not the KPI.
        sum(case when is_untagged or tag_team is null then billed_cost else 0 end) as billed_cost_without_team_tag
    from line_items
    group by billing_period, billing_currency

),

allocated_totals as (

    select
        billing_period,
        billing_currency,
        sum(billed_cost) as allocated_billed_cost,
        sum(effective_cost) as allocated_effective_cost,
        sum(case when allocation_method = 'unallocated' then billed_cost else 0 end) as unallocated_billed_cost,
        sum(
            case when {% for dimension in dimensions -%}
                {{ dimension }} is null{% if not loop.last %} or {% endif %}
            {%- endfor %} then 1 else 0 end
        ) as null_dimension_rows,
        sum(case when allocation_method = 'shared_split' then billed_cost else 0 end) as shared_split_billed_cost
    from allocated
    group by billing_period, billing_currency

),

final as (

    select
        canonical_totals.billing_period,
        canonical_totals.billing_currency,
        canonical_totals.line_item_count,
        canonical_totals.canonical_billed_cost,
        canonical_totals.canonical_effective_cost,
        coalesce(allocated_totals.allocated_billed_cost, 0) as allocated_billed_cost,
        coalesce(allocated_totals.allocated_effective_cost, 0) as allocated_effective_cost,
        coalesce(allocated_totals.allocated_billed_cost, 0)
            - canonical_totals.canonical_billed_cost as billed_cost_difference,
        coalesce(allocated_totals.allocated_effective_cost, 0)
            - canonical_totals.canonical_effective_cost as effective_cost_difference,
        coalesce(allocated_totals.null_dimension_rows, 0) as null_dimension_rows,
        coalesce(shared_pool_totals.shared_pool_billed_cost, 0) as shared_pool_billed_cost,
        coalesce(allocated_totals.shared_split_billed_cost, 0) as shared_split_billed_cost,
        -- a pool without receivers stays 'unallocated' in the mart: what was pooled
        -- but not split out to teams
        coalesce(shared_pool_totals.shared_pool_billed_cost, 0)
            - coalesce(allocated_totals.shared_split_billed_cost, 0) as undistributed_shared_cost,
        coalesce(allocated_totals.unallocated_billed_cost, 0) as unallocated_billed_cost,
        canonical_totals.billed_cost_without_team_tag,
        untagged_kpi.numerator as untagged_taggable_cost,
        untagged_kpi.denominator as taggable_cost,
        untagged_kpi.value as untagged_cost_pct,
        untagged_kpi.target as untagged_cost_target_pct,
        coalesce(usage_fallbacks.usage_pools_on_fallback, 0) as usage_pools_on_fallback,
        usage_fallbacks.usage_fallback_pools
    from canonical_totals
    left join allocated_totals
        on canonical_totals.billing_period = allocated_totals.billing_period
        and canonical_totals.billing_currency is not distinct from allocated_totals.billing_currency
    left join shared_pool_totals
        on canonical_totals.billing_period = shared_pool_totals.billing_period
        and canonical_totals.billing_currency is not distinct from shared_pool_totals.billing_currency
    left join untagged_kpi
        on canonical_totals.billing_period = untagged_kpi.billing_period
        and canonical_totals.billing_currency is not distinct from untagged_kpi.billing_currency
    left join usage_fallbacks
        on canonical_totals.billing_period = usage_fallbacks.billing_period
        and canonical_totals.billing_currency is not distinct from usage_fallbacks.billing_currency

)

select
    final.*,
    {{ period_status_columns('final.billing_period') }}
from final
