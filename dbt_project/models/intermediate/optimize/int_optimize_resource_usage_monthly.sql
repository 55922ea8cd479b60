{#-
    The bill per resource and month, the evidence every Optimize rule reads: one row per
    billing period × account × region × resource × usage type × line item type × operation
    × owner, with the usage amount (GB-months, hours, GB, LCU-hours, requests), the cost and
    the days the resource was billed. usage_type_base is the usage type without its region
    prefix (USE2-EBS:VolumeUsage.gp2 → EBS:VolumeUsage.gp2), so rules match every region.

    The owner is allocation's (tag > rule > account default, int_allocation_keys_resolved),
    joined on the same key columns int_cost_owners_resolved uses, so an opportunity goes to
    the team that pays for the resource.

    Incremental per billing period (macros/incremental/billing_periods.sql), like the daily
    roll-up it reads: a daily refresh recomputes its months only.
-#}
{{ config(**billing_period_incremental_config()) }}
{%- set key_columns = allocation_key_columns() %}
{%- set grain = [
    'billing_period',
    'billing_account_id',
    'sub_account_id',
    'provider_name',
    'region_id',
    'resource_id',
    'service_name',
    'usage_type',
    'line_item_type',
    'operation',
    'pricing_category',
    'consumed_unit',
    'billing_currency',
] %}

with daily_costs as (

    select * from {{ ref('int_line_items_counted_daily') }}
    where {{ billing_period_filter('billing_period') }}
        and resource_id is not null
        and charge_category = 'Usage'
        -- SavingsPlanNegation lines undo the on-demand charge of covered lines: no usage of their own
        and coalesce(line_item_type, '') <> 'SavingsPlanNegation'

),

resolved_keys as (

    select * from {{ ref('int_allocation_keys_resolved') }}
    where {{ billing_period_filter('billing_period') }}

),

joined as (

    select
        {% for column in grain -%}
        daily_costs.{{ column }},
        {% endfor -%}
        coalesce(resolved_keys.team, 'unallocated') as team,
        daily_costs.charge_date,
        daily_costs.consumed_quantity,
        daily_costs.billed_cost,
        daily_costs.effective_cost,
        daily_costs.list_cost
    from daily_costs
    left join resolved_keys
        on daily_costs.billing_period = resolved_keys.billing_period
        and {% for column in key_columns -%}
            daily_costs.{{ column }} is not distinct from resolved_keys.{{ column }}
            {% if not loop.last %}and {% endif %}
        {%- endfor %}

),

aggregated as (

    select
        {% for column in grain -%}
        {{ column }},
        {% endfor -%}
        team,
        -- region prefixes are upper-case letters (and a digit) before a dash: USE2-, EUW1-, APN1-, EU-
        regexp_replace(usage_type, '^[A-Z]{2,4}[0-9]?-', '') as usage_type_base,
        sum(coalesce(consumed_quantity, 0)) as consumed_quantity,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        cast(count(distinct charge_date) as bigint) as days_billed
    from joined
    group by
        {{ (grain + ['team']) | join(',\n        ') }},
        regexp_replace(usage_type, '^[A-Z]{2,4}[0-9]?-', '')

),

final as (

    select * from aggregated

)

select * from final
