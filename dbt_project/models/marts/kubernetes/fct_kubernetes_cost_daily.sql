{#-
    EKS cost per cluster, namespace, workload and team and day: what each team's pods
    cost (their split of the nodes) plus their share of the cluster's idle capacity,
    exactly the amounts the allocation ledger (fct_cost_allocated_daily, methods
    kubernetes_split / kubernetes_idle) books for them, beside AWS's own split figures
    (amortized, public on-demand, net) and the vCPU / memory hours behind them.
-#}
{%- set grain = ['billing_period', 'charge_date', 'billing_currency', 'cluster_name', 'namespace',
                 'workload_name', 'workload_type', 'team'] %}

with allocated as (

    select * from {{ ref('int_kubernetes_costs_split_daily') }}

),

pod_costs as (

    select * from {{ ref('int_kubernetes_pod_costs_daily') }}

),

allocated_by_grain as (

    select
        {{ grain | join(',\n        ') }},
        sum(case when allocation_method = 'kubernetes_split' then effective_cost else 0 end) as split_cost,
        sum(case when allocation_method = 'kubernetes_idle' then effective_cost else 0 end) as idle_cost,
        sum(effective_cost) as effective_cost,
        sum(billed_cost) as billed_cost,
        sum(list_cost) as list_cost
    from allocated
    group by {{ grain | join(', ') }}

),

aws_figures_by_grain as (

    select
        {{ grain | join(',\n        ') }},
        sum(aws_split_cost) as aws_split_cost,
        sum(aws_unused_cost) as aws_unused_cost,
        sum(public_on_demand_split_cost) as public_on_demand_split_cost,
        sum(public_on_demand_unused_cost) as public_on_demand_unused_cost,
        sum(net_split_cost) as net_split_cost,
        sum(net_unused_cost) as net_unused_cost,
        sum(vcpu_hours) as vcpu_hours,
        sum(memory_gb_hours) as memory_gb_hours
    from pod_costs
    group by {{ grain | join(', ') }}

),

joined as (

    select
        {% for column in grain -%}
        coalesce(allocated_by_grain.{{ column }}, aws_figures_by_grain.{{ column }}) as {{ column }},
        {% endfor -%}
        coalesce(allocated_by_grain.split_cost, 0) as split_cost,
        coalesce(allocated_by_grain.idle_cost, 0) as idle_cost,
        coalesce(allocated_by_grain.effective_cost, 0) as effective_cost,
        coalesce(allocated_by_grain.billed_cost, 0) as billed_cost,
        coalesce(allocated_by_grain.list_cost, 0) as list_cost,
        coalesce(aws_figures_by_grain.aws_split_cost, 0) as aws_split_cost,
        coalesce(aws_figures_by_grain.aws_unused_cost, 0) as aws_unused_cost,
        coalesce(aws_figures_by_grain.public_on_demand_split_cost, 0) as public_on_demand_split_cost,
        coalesce(aws_figures_by_grain.public_on_demand_unused_cost, 0) as public_on_demand_unused_cost,
        coalesce(aws_figures_by_grain.net_split_cost, 0) as net_split_cost,
        coalesce(aws_figures_by_grain.net_unused_cost, 0) as net_unused_cost,
        coalesce(aws_figures_by_grain.vcpu_hours, 0) as vcpu_hours,
        coalesce(aws_figures_by_grain.memory_gb_hours, 0) as memory_gb_hours
    from allocated_by_grain
    full outer join aws_figures_by_grain
        on {% for column in grain -%}
            allocated_by_grain.{{ column }} is not distinct from aws_figures_by_grain.{{ column }}
            {% if not loop.last %}and {% endif %}
        {%- endfor %}

),

final as (

    select
        {{ grain | join(',\n        ') }},
        split_cost,
        idle_cost,
        effective_cost,
        billed_cost,
        list_cost,
        aws_split_cost,
        aws_unused_cost,
        public_on_demand_split_cost,
        public_on_demand_unused_cost,
        net_split_cost,
        net_unused_cost,
        vcpu_hours,
        memory_gb_hours,
        -- the whole cluster's cost that day, on every row: idle_cost / cluster_cost per row,
        -- sum(idle_cost) / sum(effective_cost) for a cluster's idle share
        sum(effective_cost) over (partition by billing_period, charge_date, billing_currency, cluster_name)
            as cluster_cost
    from joined

)

select * from final
