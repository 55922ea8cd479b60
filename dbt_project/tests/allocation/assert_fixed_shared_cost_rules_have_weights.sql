-- Shown in Dagster as an asset check on the shared_cost_rules seed (it reads two seeds, so
-- dagster-dbt needs to be told which asset it guards).
{{ config(meta={'dagster': {'ref': {'name': 'shared_cost_rules'}}}) }}

-- A `fixed` shared-cost rule without a positive weight in shared_cost_weights would leave
-- its whole pool unallocated; a weight row for a rule that is not `fixed` is never read.
with shared_cost_rules as (

    select * from {{ ref('shared_cost_rules') }}

),

weight_totals as (

    select rule_name, sum(weight) as total_weight
    from {{ ref('shared_cost_weights') }}
    group by rule_name

)

select
    coalesce(shared_cost_rules.rule_name, weight_totals.rule_name) as rule_name,
    shared_cost_rules.split_method,
    weight_totals.total_weight
from shared_cost_rules
full outer join weight_totals
    on shared_cost_rules.rule_name = weight_totals.rule_name
where (shared_cost_rules.split_method = 'fixed' and coalesce(weight_totals.total_weight, 0) <= 0)
    or (weight_totals.rule_name is not null and coalesce(shared_cost_rules.split_method, '') <> 'fixed')
