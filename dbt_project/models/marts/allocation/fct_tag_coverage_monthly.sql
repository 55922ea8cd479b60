{#-
    Tag status of the bill's cost, per billing period and currency, by account, service,
    charge category and resolved team: the one source of every tagging number (the KPIs
    untagged_cost_pct / tag_coverage_pct / untagged_share_of_all_spend_pct through the
    semantic layer, the showback's per-team share, the review pack's "fix these first"
    list).
      tag_status = not_taggable  the charge cannot carry a tag (macros/tags/is_taggable_charge)
                   tagged        the team came from the cost's own team tag (allocation_method 'tag'),
                                 or an EKS node's cost went to its pods' teams and idle pool
                                 (kubernetes_split / kubernetes_idle: namespaces and labels)
                   untagged      taggable, but the team came from a rule, an account default,
                                 or nowhere
    is_shared_by_design marks cost in a shared_cost_rules pool: split to its receivers on
    purpose, so it is no one's tagging problem (the fix-first list leaves it out).

    Incremental per billing period like the allocation it reads.
-#}
{{ config(**billing_period_incremental_config()) }}
{%- set dimensions = [
    'billing_period',
    'billing_currency',
    'billing_account_id',
    'sub_account_id',
    'service_name',
    'charge_category',
    'team',
    'tag_status',
    'is_shared_by_design',
] %}

with owned_costs as (

    select * from {{ ref('int_cost_owners_resolved') }}
    where {{ billing_period_filter('billing_period') }}

),

classified as (

    select
        billing_period,
        billing_currency,
        billing_account_id,
        sub_account_id,
        service_name,
        charge_category,
        coalesce(team, 'unallocated') as team,
        case
            when not {{ is_taggable_charge('charge_category') }} then 'not_taggable'
            -- an EKS node's cost reached teams through its pods' namespaces and labels, the
            -- Kubernetes form of tags; the cluster's idle pool is split on purpose
            when allocation_method in ('tag', 'kubernetes_split', 'kubernetes_idle') then 'tagged'
            else 'untagged'
        end as tag_status,
        shared_cost_rule_name is not null or allocation_method = 'kubernetes_idle' as is_shared_by_design,
        billed_cost,
        effective_cost,
        line_item_count
    from owned_costs

),

final as (

    select
        {{ dimensions | join(',\n        ') }},
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(line_item_count) as line_item_count
    from classified
    group by
        {{ dimensions | join(',\n        ') }}

)

select * from final
