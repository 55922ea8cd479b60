-- Shown in Dagster as an asset check on int_kubernetes_costs_split_daily.
{{ config(meta={'dagster': {'ref': {'name': 'int_kubernetes_costs_split_daily'}}}) }}

-- An EKS node is booked once (docs/allocation.md#kubernetes): per day and currency, its pods'
-- split rows and the idle pool's rows add up to the node lines they replace, to the cent
-- (billed, effective and list cost), and carry the node lines' and the pod records' line items.
with node_costs as (

    select
        billing_period,
        charge_date,
        billing_currency,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        sum(line_item_count) as line_item_count
    from {{ ref('int_kubernetes_node_costs_daily') }}
    group by billing_period, charge_date, billing_currency

),

pod_records as (

    select billing_period, charge_date, billing_currency, sum(line_item_count) as line_item_count
    from {{ ref('int_kubernetes_pod_costs_daily') }}
    group by billing_period, charge_date, billing_currency

),

split as (

    select
        billing_period,
        charge_date,
        billing_currency,
        sum(billed_cost) as billed_cost,
        sum(effective_cost) as effective_cost,
        sum(list_cost) as list_cost,
        sum(line_item_count) as line_item_count
    from {{ ref('int_kubernetes_costs_split_daily') }}
    group by billing_period, charge_date, billing_currency

),

compared as (

    select
        coalesce(split.billing_period, node_costs.billing_period, pod_records.billing_period) as billing_period,
        coalesce(split.charge_date, node_costs.charge_date, pod_records.charge_date) as charge_date,
        coalesce(node_costs.billed_cost, 0) as node_billed_cost,
        coalesce(split.billed_cost, 0) as split_billed_cost,
        coalesce(node_costs.effective_cost, 0) as node_effective_cost,
        coalesce(split.effective_cost, 0) as split_effective_cost,
        coalesce(node_costs.list_cost, 0) as node_list_cost,
        coalesce(split.list_cost, 0) as split_list_cost,
        coalesce(node_costs.line_item_count, 0) + coalesce(pod_records.line_item_count, 0) as line_item_count,
        coalesce(split.line_item_count, 0) as split_line_item_count
    from split
    full outer join node_costs
        on split.billing_period = node_costs.billing_period
        and split.charge_date = node_costs.charge_date
        and split.billing_currency is not distinct from node_costs.billing_currency
    full outer join pod_records
        on coalesce(split.billing_period, node_costs.billing_period) = pod_records.billing_period
        and coalesce(split.charge_date, node_costs.charge_date) = pod_records.charge_date
        and coalesce(split.billing_currency, node_costs.billing_currency) is not distinct from pod_records.billing_currency

)

select *
from compared
where abs(node_billed_cost - split_billed_cost) >= 0.005
    or abs(node_effective_cost - split_effective_cost) >= 0.005
    or abs(node_list_cost - split_list_cost) >= 0.005
    or line_item_count <> split_line_item_count
