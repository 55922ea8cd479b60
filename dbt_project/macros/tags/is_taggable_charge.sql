{#- Whether cost of this charge category can carry a cost allocation tag at all: usage can
    (it is a resource's), purchases cannot (Savings Plan and RI fees, support, Marketplace
    subscription fees), nor can tax, credits, refunds and 'Other'. Tag coverage is measured on
    taggable cost only, so a month with a big tax line or credit does not look "untagged"
    (FOCUS ChargeCategory, docs/kpis.md). -#}
{% macro is_taggable_charge(charge_category) -%}
    coalesce({{ charge_category }} = 'Usage', false)
{%- endmacro %}
