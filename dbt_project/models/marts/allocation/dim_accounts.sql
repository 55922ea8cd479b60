{#-
    Every account: those of seed account_owners with their default owners, plus
    any account that appears in the bill without a row there (is_configured
    false, defaults 'unallocated'), so a new account is visible, not silently
    unowned.
-#}

with account_owners as (

    select * from {{ ref('account_owners') }}

),

daily_costs as (

    select * from {{ ref('int_line_items_counted_daily') }}

),

billed_accounts as (

    select distinct
        coalesce(sub_account_id, billing_account_id) as account_id,
        billing_account_id as payer_account_id
    from daily_costs
    where coalesce(sub_account_id, billing_account_id) is not null

),

unconfigured_accounts as (

    select
        account_id,
        min(payer_account_id) as payer_account_id
    from billed_accounts
    where account_id not in (select account_id from account_owners)
    group by account_id

),

accounts as (

    select
        account_id,
        account_name,
        payer_account_id,
        team as default_team,
        environment as default_environment,
        product as default_product,
        cost_center as default_cost_center,
        owner as default_owner,
        coalesce(is_shared, false) as is_shared,
        true as is_configured
    from account_owners

    union all

    select
        account_id,
        account_id as account_name,
        payer_account_id,
        null as default_team,
        null as default_environment,
        null as default_product,
        null as default_cost_center,
        null as default_owner,
        false as is_shared,
        false as is_configured
    from unconfigured_accounts

),

final as (

    select
        accounts.account_id,
        accounts.account_name,
        accounts.payer_account_id,
        payers.account_name as payer_account_name,
        accounts.account_id = accounts.payer_account_id as is_payer,
        coalesce(accounts.default_team, 'unallocated') as default_team,
        coalesce(accounts.default_environment, 'unallocated') as default_environment,
        coalesce(accounts.default_product, 'unallocated') as default_product,
        coalesce(accounts.default_cost_center, 'unallocated') as default_cost_center,
        coalesce(accounts.default_owner, 'unallocated') as default_owner,
        accounts.is_shared,
        accounts.is_configured
    from accounts
    left join account_owners as payers
        on accounts.payer_account_id = payers.account_id

)

select * from final
