{%- set dimensions = [
    'charge_date',
    'billing_account_id',
    'sub_account_id',
    'provider_name',
    'service_name',
    'charge_category',
    'team',
    'environment',
    'product',
    'cost_center',
] %}

with line_items as (

    select * from {{ ref('int_line_items_tagged') }}

),

allocated as (

    select
        billing_period,
        charge_date,
        {% for dimension in dimensions if dimension != 'charge_date' -%}
        coalesce({{ dimension }}, 'unallocated') as {{ dimension }},
        {% endfor -%}
        -- this issue allocates by tag only; account_default / rule / shared_split follow
        case when team is not null then 'tag' else 'unallocated' end as allocation_method,
        billing_currency,
        billed_cost,
        effective_cost,
        list_cost
    from line_items

),

aggregated as (

    select
        billing_period,
        {% for dimension in dimensions -%}
        {{ dimension }},
        {% endfor -%}
        allocation_method,
        billing_currency,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        count(*) as line_item_count
    from allocated
    group by
        billing_period,
        {% for dimension in dimensions -%}
        {{ dimension }},
        {% endfor -%}
        allocation_method,
        billing_currency

)

select * from aggregated
