-- Shown in Dagster as an asset check on int_shared_cost_shares.
{{ config(meta={'dagster': {'ref': {'name': 'int_shared_cost_shares'}}}) }}

-- No receiver gets a negative (or empty) share: teams with zero or negative direct cost
-- are excluded from proportional and even splits, and zero weights from fixed ones.
select *
from {{ ref('int_shared_cost_shares') }}
where not (share > 0 and share <= 1 and weight > 0)
