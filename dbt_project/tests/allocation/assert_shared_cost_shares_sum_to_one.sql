-- Shown in Dagster as an asset check on int_shared_cost_shares.
{{ config(meta={'dagster': {'ref': {'name': 'int_shared_cost_shares'}}}) }}

-- The shares of every split pool add up to exactly 1 (house rule 5). Returns the pools
-- whose shares do not.
select
    shared_cost_rule_name,
    scope_value,
    billing_period,
    billing_currency,
    sum(share) as total_share,
    count(*) as receivers
from {{ ref('int_shared_cost_shares') }}
group by shared_cost_rule_name, scope_value, billing_period, billing_currency
having abs(sum(share) - 1) > 0.000000001
