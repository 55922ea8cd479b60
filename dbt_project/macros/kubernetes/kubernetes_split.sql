{#-
    Split cost allocation data in one place: which CUR operations are split cost
    records (a pod's or task's share of its EC2 instance, never counted as cost
    themselves), which of them are EKS pods, and which usage types are the instance
    hours those records divide (the node's cost that the pods and the idle pool replace).
-#}
{% macro split_cost_operations() -%}
    {{ return(['EKSPod-EC2', 'ECSTask-EC2']) }}
{%- endmacro %}

{% macro kubernetes_pod_operation() -%}
    {{ return('EKSPod-EC2') }}
{%- endmacro %}

{#- The instance-hour lines of a node (on-demand, Savings Plan or RI covered, the
    Savings Plan negation of the same hours, Spot, dedicated): what AWS splits. Data
    transfer, EBS-optimised hours and the like keep their own owner. -#}
{% macro kubernetes_node_usage_line(relation) -%}
    ({{ relation }}.usage_type like '%BoxUsage%'
        or {{ relation }}.usage_type like '%SpotUsage%'
        or {{ relation }}.usage_type like '%DedicatedUsage%'
        or {{ relation }}.usage_type like '%HostBoxUsage%')
{%- endmacro %}
