-- The hand-written baseline of benchmarks/run_benchmark.py: what a data engineer would write
-- in DuckDB instead of the warehouse, reading the delivered CUR 2.0 parquet files directly.
--
-- It computes the figures the warehouse reports for showback:
--   * the daily amortized (effective) cost per billing account, account, service, charge
--     category and team tag (table daily_costs);
--   * the untagged share per billing period (billed cost without a team tag);
--   * a shared-cost split: the costs matching the proportional rules of the seed
--     shared_cost_rules.csv (scope: the billing account) split to that billing account's
--     teams in proportion to their direct effective cost in the period (table showback);
-- and ends with one row per billing period of totals, which run_benchmark.py compares with
-- the warehouse's published marts (a comparison with a different bill would mean nothing).
--
-- Placeholders filled in by run_benchmark.py: {files} (a list of the parquet data files of the
-- current deliveries), {seeds} (dbt_project/seeds). Amortized cost is the formula of
-- docs/background.md (AWS's Cloud Intelligence Dashboards); the team tag is resolved as the
-- warehouse does, with the team aliases of the seed tag_key_aliases: keys compared lower-case
-- with '-', ' ', ':' as '_' and without a 'user_' prefix, the alias of lowest priority wins
-- (then the lowest key), values trimmed and lower-cased, an empty value is no value.

-- The team of each distinct tag map (a bill has millions of lines but thousands of different
-- maps, and reading a map entry by entry costs far more than a flat column: so the maps are
-- resolved once each, keyed by their hash, and joined back). NULL: untagged.
create temp table tag_map_teams as
with tag_maps as (
    select hash(resource_tags) as tag_map_key, first(resource_tags) as tags
    from read_parquet({files})
    group by tag_map_key
),
entries as (
    select tag_map_key, unnest(map_keys(tags)) as tag_key, unnest(map_values(tags)) as tag_value
    from tag_maps
),
aliases as (
    select
        regexp_replace(replace(replace(replace(lower(trim(raw_key)), '-', '_'), ' ', '_'), ':', '_'), '^user_', '')
            as normalized_key,
        cast(priority as integer) as priority
    from read_csv('{seeds}/tag_key_aliases.csv', header = true, all_varchar = true)
    where taxonomy_key = 'team'
)
select entries.tag_map_key, lower(trim(entries.tag_value)) as team
from entries
inner join aliases
    on regexp_replace(replace(replace(replace(lower(trim(entries.tag_key)), '-', '_'), ' ', '_'), ':', '_'),
                      '^user_', '') = aliases.normalized_key
where nullif(trim(entries.tag_value), '') is not null
qualify row_number() over (
    partition by entries.tag_map_key order by aliases.priority, entries.tag_key, lower(trim(entries.tag_value))) = 1;

-- One pass over the line items: amortized cost per line item type, summed per day, billing
-- account, account, service, charge category and team: the daily roll-up.
create temp table daily_costs as
with line_items as (
    select
        cast(date_trunc('month', bill_billing_period_start_date) as date) as billing_period,
        cast(line_item_usage_start_date as date) as charge_date,
        bill_payer_account_id as billing_account_id,
        line_item_usage_account_id as account_id,
        line_item_product_code as product_code,
        case
            when line_item_line_item_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage',
                'SavingsPlanNegation', 'BundledDiscount', 'Discount', 'PrivateRateDiscount', 'EdpDiscount')
                then 'Usage'
            when line_item_line_item_type in ('Fee', 'RIFee', 'SavingsPlanUpfrontFee', 'SavingsPlanRecurringFee')
                then 'Purchase'
            when line_item_line_item_type = 'Tax' then 'Tax'
            when line_item_line_item_type = 'Credit' then 'Credit'
            when line_item_line_item_type = 'Refund' then 'Adjustment'
            else 'Other'
        end as charge_category,
        hash(resource_tags) as tag_map_key,
        coalesce(line_item_unblended_cost, 0) as billed_cost,
        case
            when line_item_line_item_type = 'SavingsPlanCoveredUsage'
                then coalesce(savings_plan_savings_plan_effective_cost, 0)
            when line_item_line_item_type = 'SavingsPlanRecurringFee'
                then coalesce(savings_plan_total_commitment_to_date, 0) - coalesce(savings_plan_used_commitment, 0)
            when line_item_line_item_type in ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') then 0
            when line_item_line_item_type = 'DiscountedUsage' then coalesce(reservation_effective_cost, 0)
            when line_item_line_item_type = 'RIFee'
                then coalesce(reservation_unused_amortized_upfront_fee_for_billing_period, 0)
                    + coalesce(reservation_unused_recurring_fee, 0)
            when line_item_line_item_type = 'Fee' and nullif(reservation_reservation_a_r_n, '') is not null then 0
            else coalesce(line_item_unblended_cost, 0)
        end as effective_cost
    from read_parquet({files})
),
daily as (
    select
        line_items.billing_period, line_items.charge_date, line_items.billing_account_id, line_items.account_id,
        line_items.product_code, line_items.charge_category, tag_map_teams.team,
        count(*) as line_items, sum(line_items.billed_cost) as billed_cost,
        sum(line_items.effective_cost) as effective_cost
    from line_items
    left join tag_map_teams
        on line_items.tag_map_key = tag_map_teams.tag_map_key
    group by all
)
select
    daily.billing_period,
    daily.charge_date,
    daily.billing_account_id,
    daily.account_id,
    coalesce(services.service_name, daily.product_code) as service_name,
    daily.charge_category,
    daily.team,
    sum(daily.line_items) as line_items,
    sum(daily.billed_cost) as billed_cost,
    sum(daily.effective_cost) as effective_cost
from daily
left join read_csv('{seeds}/aws_services.csv', header = true, all_varchar = true) as services
    on daily.product_code = services.product_code
group by all;

-- Shared costs: what matches a proportional, billing-account-scoped rule of the seed (the
-- first rule by rule_order; tagged lines only where the rule includes them). rule_name is
-- NULL for everything else.
create temp table pooled_costs as
with rules as (
    select * from read_csv('{seeds}/shared_cost_rules.csv', header = true, all_varchar = true)
    where split_method = 'proportional' and receiver_scope = 'billing_account'
)
select daily_costs.*, rules.rule_name
from daily_costs
left join rules
    on (rules.match_account_id is null or rules.match_account_id = daily_costs.account_id)
    and (rules.match_service_name is null or rules.match_service_name = daily_costs.service_name)
    and (rules.match_charge_category is null or rules.match_charge_category = daily_costs.charge_category)
    and (daily_costs.team is null or rules.include_tagged = 'true')
qualify row_number() over (
    partition by daily_costs.billing_period, daily_costs.charge_date, daily_costs.billing_account_id,
        daily_costs.account_id, daily_costs.service_name, daily_costs.charge_category, daily_costs.team
    order by cast(rules.rule_order as integer) nulls last) = 1;

-- Showback per billing period and team: direct cost (team-tagged, not pooled) plus the share
-- of its billing account's pools in proportion to the team's direct cost there.
create temp table showback as
with direct as (
    select billing_period, billing_account_id, team, sum(effective_cost) as direct_cost
    from pooled_costs
    where team is not null and rule_name is null
    group by all
),
pools as (
    select billing_period, billing_account_id, sum(effective_cost) as pool_cost
    from pooled_costs
    where rule_name is not null
    group by all
),
split as (
    select direct.billing_period, direct.billing_account_id, direct.team, direct.direct_cost,
           coalesce(pools.pool_cost, 0) * direct.direct_cost
               / sum(direct.direct_cost) over (partition by direct.billing_period, direct.billing_account_id)
               as shared_cost
    from direct
    left join pools using (billing_period, billing_account_id)
)
select billing_period, team, sum(direct_cost) as direct_cost, sum(shared_cost) as shared_cost
from split
group by all;

-- One row per billing period: what run_benchmark.py checks against the warehouse.
select
    strftime(totals.billing_period, '%Y-%m') as billing_period,
    totals.line_items,
    totals.billed_cost,
    totals.effective_cost,
    totals.untagged_billed_cost,
    coalesce(shared.pool_cost, 0) as shared_pool_cost,
    coalesce(split.shared_cost, 0) as shared_split_cost
from (
    select billing_period, sum(line_items) as line_items, sum(billed_cost) as billed_cost,
           sum(effective_cost) as effective_cost,
           sum(case when team is null then billed_cost else 0 end) as untagged_billed_cost
    from daily_costs group by billing_period
) as totals
left join (select billing_period, sum(effective_cost) as pool_cost from pooled_costs where rule_name is not null
           group by all) as shared
    using (billing_period)
left join (select billing_period, sum(shared_cost) as shared_cost from showback group by all) as split
    using (billing_period)
order by billing_period;
