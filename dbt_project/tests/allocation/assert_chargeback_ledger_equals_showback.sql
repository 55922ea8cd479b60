-- Shown in Dagster as an asset check on fct_chargeback_ledger.
{{ config(meta={'dagster': {'ref': {'name': 'fct_chargeback_ledger'}}}) }}

-- A chargeback team is billed exactly what showback shows it: per billing period, team and
-- currency, the ledger's amounts (over its cost centers) equal rpt_showback_monthly's
-- total_cost, to the cent, and every chargeback team with cost has statement lines.
with chargeback_teams as (

    select team from {{ ref('teams') }}
    where accountability = 'chargeback'

),

showback as (

    select billing_period, team, billing_currency, total_cost
    from {{ ref('rpt_showback_monthly') }}
    where team in (select team from chargeback_teams)

),

ledger as (

    select billing_period, team, billing_currency, sum(amount) as amount
    from {{ ref('fct_chargeback_ledger') }}
    group by billing_period, team, billing_currency

)

select
    coalesce(showback.billing_period, ledger.billing_period) as billing_period,
    coalesce(showback.team, ledger.team) as team,
    showback.total_cost as showback_total_cost,
    ledger.amount as ledger_amount
from showback
full outer join ledger
    on showback.billing_period = ledger.billing_period
    and showback.team = ledger.team
    and showback.billing_currency is not distinct from ledger.billing_currency
where abs(coalesce(showback.total_cost, 0) - coalesce(ledger.amount, 0)) >= 0.005
