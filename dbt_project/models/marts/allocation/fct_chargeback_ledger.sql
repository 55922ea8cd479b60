{#-
    The chargeback statement lines: for teams whose accountability is
    'chargeback' (seed teams), one line per billing period × team × cost
    center, the amortized cost including the formal share of shared costs.
    Same money as those teams' rows of rpt_showback_monthly (tested).
-#}

with allocated as (

    select * from {{ ref('fct_cost_allocated_daily') }}

),

teams as (

    select * from {{ ref('teams') }}
    where accountability = 'chargeback'

),

ledger_lines as (

    select
        allocated.billing_period,
        allocated.team,
        allocated.cost_center,
        allocated.billing_currency,
        sum(allocated.effective_cost) as amount,
        sum(case when allocated.allocation_method <> 'shared_split' then allocated.effective_cost else 0 end)
            as direct_amount,
        sum(case when allocated.allocation_method = 'shared_split' then allocated.effective_cost else 0 end)
            as shared_amount,
        sum(allocated.billed_cost) as billed_amount
    from allocated
    inner join teams
        on allocated.team = teams.team
    group by allocated.billing_period, allocated.team, allocated.cost_center, allocated.billing_currency

),

final as (

    select
        -- stable across rebuilds: the same team, cost center, period and currency
        -- always get the same statement id
        {{ dbt.hash(dbt.concat([
            'team',
            "'|'",
            'cost_center',
            "'|'",
            'cast(billing_period as ' ~ dbt.type_string() ~ ')',
            "'|'",
            "coalesce(billing_currency, '')",
        ])) }} as statement_id,
        billing_period,
        team,
        cost_center,
        amount,
        direct_amount,
        shared_amount,
        billed_amount,
        billing_currency
    from ledger_lines

)

select
    final.*,
    {{ period_status_columns('final.billing_period') }}
from final
