{#-
    What each team could save, from the bill alone: one row per billing period × kind ×
    resource. Each kind is one CTE below; its thresholds, confidence and action are in the
    seed optimize_rules, its prices come from the bill (the resource's own rate; a target
    rate from other resources billed at it in the same region and month) and else from the
    seeds optimize_prices / optimize_instance_prices (list prices, source named per row).
    docs/optimize.md describes every rule and its limits.

    Never double counted: when several kinds touch one resource in a month, the largest
    saving wins and the others are is_overlapping (excluded from totals). A kind/resource
    the team marked in seed savings_decisions ("won't do") stays here with its decision but
    is not open. A table rebuilt whole: old snapshots need the resource's whole history, and
    the input (one row per resource and usage type and month) is small.
-#}
{{ config(materialized='table') }}


with usage_rows as (

    select * from {{ ref('int_optimize_resource_usage_monthly') }}

),

rules as (

    select * from {{ ref('optimize_rules') }}
    where is_enabled

),

prices as (

    select * from {{ ref('optimize_prices') }}

),

instance_prices as (

    select * from {{ ref('optimize_instance_prices') }}

),

instance_families as (

    select * from {{ ref('optimize_instance_families') }}

),

decisions as (

    select * from {{ ref('savings_decisions') }}

),

bill_discounts as (

    select * from {{ ref('int_optimize_discount_rates_monthly') }}

),

-- one row per period × resource × usage type (the owner aside: the resource's team is the one
-- paying most of it)
usage as (

    select
        billing_period,
        billing_account_id,
        sub_account_id,
        region_id,
        resource_id,
        service_name,
        usage_type,
        usage_type_base,
        line_item_type,
        operation,
        pricing_category,
        consumed_unit,
        billing_currency,
        sum(consumed_quantity) as quantity,
        sum(billed_cost) as cost,
        max(days_billed) as days_billed
    from usage_rows
    group by
        billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name, usage_type,
        usage_type_base, line_item_type, operation, pricing_category, consumed_unit, billing_currency

),

resources as (

    select
        billing_period,
        resource_id,
        max_by(team, billed_cost) as team,
        sum(billed_cost) as resource_cost
    from usage_rows
    group by billing_period, resource_id

),

periods as (

    select distinct
        billing_period,
        {{ dbt.datediff('billing_period', dbt.dateadd('month', 1, 'billing_period'), 'day') }} as days_in_period
    from usage_rows

),

-- seed prices per region: the region's own row, else the '*' row (us-east-1 list prices)
regions as (

    select distinct coalesce(region_id, '') as region_id from usage_rows

),

seed_prices as (

    select
        regions.region_id,
        price_keys.price_key,
        coalesce(regional.price, fallback.price) as price
    from regions
    cross join (select distinct price_key from prices) as price_keys
    left join prices as regional
        on regional.price_key = price_keys.price_key and regional.region_id = regions.region_id
    left join prices as fallback
        on fallback.price_key = price_keys.price_key and fallback.region_id = '*'

),

seed_instance_prices as (

    select
        regions.region_id,
        instance_types.instance_type,
        coalesce(regional.hourly_price, fallback.hourly_price) as hourly_price
    from regions
    cross join (select distinct instance_type from instance_prices) as instance_types
    left join instance_prices as regional
        on regional.instance_type = instance_types.instance_type and regional.region_id = regions.region_id
    left join instance_prices as fallback
        on fallback.instance_type = instance_types.instance_type and fallback.region_id = '*'

),

-- what the bill itself charges per unit of a usage type, on demand, in a region and month
bill_rates as (

    select
        billing_period,
        coalesce(region_id, '') as region_id,
        usage_type_base,
        sum(cost) / sum(quantity) as rate
    from usage
    where line_item_type = 'Usage' and coalesce(pricing_category, 'Standard') = 'Standard' and quantity > 0
    group by billing_period, coalesce(region_id, ''), usage_type_base

),

discount_rates as (

    select
        periods.billing_period,
        coalesce(bill_discounts.discount_rate, seed_discount.price) as discount_rate,
        case when bill_discounts.discount_rate is not null then 'bill' else 'seed' end as discount_source
    from periods
    left join (
        select billing_period, max(discount_rate) as discount_rate from bill_discounts group by billing_period
    ) as bill_discounts
        on periods.billing_period = bill_discounts.billing_period
    cross join (
        select price from prices where price_key = 'compute_savings_plan_discount' and region_id = '*'
    ) as seed_discount

),

on_demand as (

    select usage.*, periods.days_in_period
    from usage
    inner join periods on usage.billing_period = periods.billing_period
    where usage.line_item_type = 'Usage' and coalesce(usage.pricing_category, 'Standard') = 'Standard'

),

-- EBS gp2 → gp3 ------------------------------------------------------------------------------
gp2_volumes as (

    select
        on_demand.*,
        -- the volume's size: GB-months over the share of the month it existed
        quantity * days_in_period / days_billed as size_gb,
        coalesce(gp3_bill.rate, gp3_seed.price) as gp3_rate,
        case when gp3_bill.rate is not null then 'bill' else 'seed' end as price_source,
        iops_seed.price as gp3_iops_price
    from on_demand
    left join bill_rates as gp3_bill
        on gp3_bill.billing_period = on_demand.billing_period
        and gp3_bill.region_id = coalesce(on_demand.region_id, '')
        and gp3_bill.usage_type_base = 'EBS:VolumeUsage.gp3'
    left join seed_prices as gp3_seed
        on gp3_seed.region_id = coalesce(on_demand.region_id, '') and gp3_seed.price_key = 'ebs_gp3_storage'
    left join seed_prices as iops_seed
        on iops_seed.region_id = coalesce(on_demand.region_id, '') and iops_seed.price_key = 'ebs_gp3_iops'
    where on_demand.usage_type_base = 'EBS:VolumeUsage.gp2' and on_demand.quantity > 0

),

gp2_to_gp3 as (

    select
        billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name, usage_type,
        billing_currency,
        'ebs_gp2_to_gp3' as kind,
        cost as monthly_cost,
        -- gp3 at the same size, plus the IOPS above gp3's included 3,000 that gp2's baseline
        -- (3 IOPS per GB, at most 16,000) gave the volume
        cost - (quantity * gp3_rate
            + greatest(0, least(3 * size_gb, 16000) - 3000) * (quantity / size_gb) * gp3_iops_price)
            as estimated_monthly_saving,
        quantity as usage_quantity,
        'GB-month' as usage_unit,
        size_gb as evidence_quantity,
        'GB volume size' as evidence_unit,
        cost / quantity as current_rate,
        gp3_rate as target_rate,
        price_source,
        cast(null as {{ dbt.type_string() }}) as rule_confidence,
        'gp2 ' || {{ optimize_as_text('size_gb', 1) }} || ' GB (' || {{ optimize_as_text('quantity', 2) }} || ' GB-month at '
            || {{ optimize_as_text('cost / quantity', 4) }} || '/GB-month); gp3 at ' || {{ optimize_as_text('gp3_rate', 4) }}
            || '/GB-month (' || price_source || ')' as evidence
    from gp2_volumes

),

-- EBS io1 → gp3 where the provisioned IOPS fit gp3 ---------------------------------------------
io1_volumes as (

    select
        billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name,
        billing_currency, days_in_period,
        max(case when usage_type_base = 'EBS:VolumeUsage.piops' then usage_type end) as usage_type,
        sum(case when usage_type_base = 'EBS:VolumeUsage.piops' then quantity else 0 end) as storage_quantity,
        sum(case when usage_type_base = 'EBS:VolumeP-IOPS.piops' then quantity else 0 end) as iops_quantity,
        max(case when usage_type_base = 'EBS:VolumeUsage.piops' then days_billed end) as days_billed,
        sum(cost) as cost
    from on_demand
    where usage_type_base in ('EBS:VolumeUsage.piops', 'EBS:VolumeP-IOPS.piops')
    group by billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name,
        billing_currency, days_in_period
    having sum(case when usage_type_base = 'EBS:VolumeUsage.piops' then quantity else 0 end) > 0

),

io1_to_gp3 as (

    select
        io1_volumes.billing_period, billing_account_id, sub_account_id, io1_volumes.region_id, resource_id,
        service_name, usage_type, billing_currency,
        'ebs_io1_to_gp3' as kind,
        cost as monthly_cost,
        cost - (storage_quantity * coalesce(gp3_bill.rate, gp3_seed.price)
            + greatest(0, iops_quantity * days_in_period / days_billed - 3000)
              * days_billed / days_in_period * iops_seed.price) as estimated_monthly_saving,
        storage_quantity as usage_quantity,
        'GB-month' as usage_unit,
        iops_quantity * days_in_period / days_billed as evidence_quantity,
        'provisioned IOPS' as evidence_unit,
        cost / storage_quantity as current_rate,
        coalesce(gp3_bill.rate, gp3_seed.price) as target_rate,
        case when gp3_bill.rate is not null then 'bill' else 'seed' end as price_source,
        cast(null as {{ dbt.type_string() }}) as rule_confidence,
        'io1 ' || {{ optimize_as_text('storage_quantity', 2) }} || ' GB-month with '
            || {{ optimize_as_text('iops_quantity * days_in_period / days_billed', 0) }} || ' provisioned IOPS cost '
            || {{ optimize_as_text('cost', 2) }} || '; gp3 at ' || {{ optimize_as_text('coalesce(gp3_bill.rate, gp3_seed.price)', 4) }}
            || '/GB-month (' || case when gp3_bill.rate is not null then 'bill' else 'seed' end || ') + '
            || {{ optimize_as_text('iops_seed.price', 4) }} || '/IOPS-month above 3,000 (seed)' as evidence
    from io1_volumes
    inner join rules on rules.kind = 'ebs_io1_to_gp3'
    left join bill_rates as gp3_bill
        on gp3_bill.billing_period = io1_volumes.billing_period
        and gp3_bill.region_id = coalesce(io1_volumes.region_id, '')
        and gp3_bill.usage_type_base = 'EBS:VolumeUsage.gp3'
    left join seed_prices as gp3_seed
        on gp3_seed.region_id = coalesce(io1_volumes.region_id, '') and gp3_seed.price_key = 'ebs_gp3_storage'
    left join seed_prices as iops_seed
        on iops_seed.region_id = coalesce(io1_volumes.region_id, '') and iops_seed.price_key = 'ebs_gp3_iops'
    where iops_quantity * days_in_period / days_billed <= rules.threshold

),

-- previous-generation instances → the mapped current generation / Graviton -------------------
instances as (

    select
        on_demand.*,
        substr(usage_type_base, length('BoxUsage:') + 1) as instance_type,
        split_part(substr(usage_type_base, length('BoxUsage:') + 1), '.', 1) as instance_family,
        split_part(substr(usage_type_base, length('BoxUsage:') + 1), '.', 2) as instance_size
    from on_demand
    -- Linux/UNIX (operation RunInstances): other operating systems carry a licence the seed prices lack
    where usage_type_base like 'BoxUsage:%' and coalesce(operation, 'RunInstances') = 'RunInstances'
        and quantity > 0

),

previous_generation_candidates as (

    select
        instances.*,
        instance_families.to_family || '.' || instance_size as target_type,
        instance_families.architecture,
        instance_families.confidence as rule_confidence,
        coalesce(target_bill.rate, target_seed.hourly_price) as target_rate,
        case when target_bill.rate is not null then 'bill' else 'seed' end as price_source
    from instances
    inner join instance_families on instances.instance_family = instance_families.from_family
    left join bill_rates as target_bill
        on target_bill.billing_period = instances.billing_period
        and target_bill.region_id = coalesce(instances.region_id, '')
        and target_bill.usage_type_base = 'BoxUsage:' || instance_families.to_family || '.' || instance_size
    left join seed_instance_prices as target_seed
        on target_seed.region_id = coalesce(instances.region_id, '')
        and target_seed.instance_type = instance_families.to_family || '.' || instance_size

),

previous_generation_ranked as (

    select
        previous_generation_candidates.*,
        row_number() over (
            partition by billing_period, resource_id
            order by cost - quantity * target_rate desc, target_type
        ) as target_rank
    from previous_generation_candidates
    where target_rate is not null

),

previous_generation as (

    select
        billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name, usage_type,
        billing_currency,
        'previous_generation_instance' as kind,
        cost as monthly_cost,
        cost - quantity * target_rate as estimated_monthly_saving,
        quantity as usage_quantity,
        'hours' as usage_unit,
        target_rate as evidence_quantity,
        'target $/hour' as evidence_unit,
        cost / quantity as current_rate,
        target_rate,
        price_source,
        rule_confidence,
        instance_type || ' (previous generation) ' || {{ optimize_as_text('quantity', 1) }} || ' h at '
            || {{ optimize_as_text('cost / quantity', 4) }} || '/h; ' || target_type || ' (' || architecture || ') at '
            || {{ optimize_as_text('target_rate', 4) }} || '/h (' || price_source || ')' as evidence
    from previous_generation_ranked
    inner join rules on rules.kind = 'previous_generation_instance'
    where target_rank = 1 and quantity >= rules.threshold

),

-- idle public IPv4 / Elastic IP addresses ----------------------------------------------------------
idle_addresses as (

    select
        billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name,
        max(usage_type) as usage_type, billing_currency,
        sum(quantity) as idle_hours,
        sum(cost) as idle_cost
    from on_demand
    where usage_type_base in ('PublicIPv4:IdleAddress', 'ElasticIP:IdleAddress')
    group by billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name,
        billing_currency

),

idle_public_ipv4 as (

    select
        billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name, usage_type,
        billing_currency,
        'idle_public_ipv4' as kind,
        idle_cost as monthly_cost,
        idle_cost as estimated_monthly_saving,
        idle_hours as usage_quantity,
        'idle address-hours' as usage_unit,
        idle_hours as evidence_quantity,
        'idle address-hours' as evidence_unit,
        idle_cost / nullif(idle_hours, 0) as current_rate,
        cast(0 as double) as target_rate,
        'bill' as price_source,
        cast(null as {{ dbt.type_string() }}) as rule_confidence,
        {{ optimize_as_text('idle_hours', 0) }} || ' idle address-hours (' || {{ optimize_as_text('idle_cost', 2) }}
            || ') with no attached resource' as evidence
    from idle_addresses
    inner join rules on rules.kind = 'idle_public_ipv4'
    where idle_hours >= rules.threshold

),

-- idle NAT gateways and load balancers: hours billed, almost nothing processed -----------------
metered_resources as (

    select
        billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name,
        billing_currency,
        case when usage_type_base in ('NatGateway-Hours', 'NatGateway-Bytes') then 'idle_nat_gateway'
             else 'idle_load_balancer' end as kind,
        max(case when usage_type_base in ('NatGateway-Hours') or usage_type_base like '%LoadBalancerUsage'
            then usage_type end) as usage_type,
        sum(case when usage_type_base in ('NatGateway-Hours') or usage_type_base like '%LoadBalancerUsage'
            then quantity else 0 end) as hours,
        sum(case when usage_type_base in ('NatGateway-Hours') or usage_type_base like '%LoadBalancerUsage'
            then 0 else quantity end) as processed,
        sum(cost) as cost
    from on_demand
    where usage_type_base in ('NatGateway-Hours', 'NatGateway-Bytes')
        or usage_type_base like '%LoadBalancerUsage'
        or usage_type_base like '%LCUUsage'
        or (usage_type_base = 'DataProcessing-Bytes' and service_name = 'Elastic Load Balancing')
    group by billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name,
        billing_currency,
        case when usage_type_base in ('NatGateway-Hours', 'NatGateway-Bytes') then 'idle_nat_gateway'
             else 'idle_load_balancer' end

),

idle_metered as (

    select
        billing_period, billing_account_id, sub_account_id, metered_resources.region_id, resource_id,
        service_name, usage_type, billing_currency,
        metered_resources.kind,
        cost as monthly_cost,
        cost as estimated_monthly_saving,
        hours as usage_quantity,
        'hours' as usage_unit,
        processed as evidence_quantity,
        case when metered_resources.kind = 'idle_nat_gateway' then 'GB processed' else 'LCU-hours (or GB) processed' end
            as evidence_unit,
        cost / hours as current_rate,
        cast(0 as double) as target_rate,
        'bill' as price_source,
        cast(null as {{ dbt.type_string() }}) as rule_confidence,
        {{ optimize_as_text('hours', 0) }} || ' hours billed, ' || {{ optimize_as_text('processed', 3) }}
            || case when metered_resources.kind = 'idle_nat_gateway' then ' GB' else ' LCU-hours' end
            || ' processed (' || {{ optimize_as_text('processed / hours', 4) }} || ' per hour)' as evidence
    from metered_resources
    inner join rules on rules.kind = metered_resources.kind
    where hours > 0 and processed / hours <= rules.threshold

),

-- old snapshots: months since the snapshot id first appeared in the bill --------------------
snapshot_first_seen as (

    select resource_id, min(billing_period) as first_seen_period
    from usage
    where usage_type_base like 'EBS:SnapshotUsage%'
    group by resource_id

),

snapshots as (

    select
        on_demand.billing_period, billing_account_id, sub_account_id, region_id, on_demand.resource_id,
        service_name, max(usage_type) as usage_type, billing_currency,
        snapshot_first_seen.first_seen_period,
        sum(quantity) as quantity,
        sum(cost) as cost
    from on_demand
    inner join snapshot_first_seen on on_demand.resource_id = snapshot_first_seen.resource_id
    where usage_type_base like 'EBS:SnapshotUsage%'
    group by on_demand.billing_period, billing_account_id, sub_account_id, region_id, on_demand.resource_id,
        service_name, billing_currency, snapshot_first_seen.first_seen_period

),

old_snapshots as (

    select
        billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name, usage_type,
        billing_currency,
        'old_snapshot' as kind,
        cost as monthly_cost,
        cost as estimated_monthly_saving,
        quantity as usage_quantity,
        'GB-month' as usage_unit,
        cast({{ dbt.datediff('first_seen_period', 'billing_period', 'month') }} as double) as evidence_quantity,
        'months since first billed' as evidence_unit,
        cost / nullif(quantity, 0) as current_rate,
        cast(0 as double) as target_rate,
        'bill' as price_source,
        cast(null as {{ dbt.type_string() }}) as rule_confidence,
        'snapshot in the bill since ' || cast(first_seen_period as {{ dbt.type_string() }}) || ' ('
            || cast({{ dbt.datediff('first_seen_period', 'billing_period', 'month') }} as {{ dbt.type_string() }})
            || ' months); ' || {{ optimize_as_text('quantity', 2) }} || ' GB-month' as evidence
    from snapshots
    inner join rules on rules.kind = 'old_snapshot'
    where {{ dbt.datediff('first_seen_period', 'billing_period', 'month') }} >= rules.threshold

),

-- S3 Standard buckets with almost no requests → Intelligent-Tiering ----------------------------
buckets as (

    select
        billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name,
        billing_currency,
        max(case when usage_type_base = 'TimedStorage-ByteHrs' then usage_type end) as usage_type,
        sum(case when usage_type_base = 'TimedStorage-ByteHrs' then quantity else 0 end) as stored_gb_months,
        sum(case when usage_type_base = 'TimedStorage-ByteHrs' then cost else 0 end) as storage_cost,
        sum(case when usage_type_base in ('Requests-Tier1', 'Requests-Tier2') then quantity else 0 end) as requests
    from on_demand
    where usage_type_base in ('TimedStorage-ByteHrs', 'Requests-Tier1', 'Requests-Tier2')
    group by billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name,
        billing_currency
    having sum(case when usage_type_base = 'TimedStorage-ByteHrs' then quantity else 0 end) > 0

),

s3_intelligent_tiering as (

    select
        billing_period, billing_account_id, sub_account_id, buckets.region_id, resource_id, service_name,
        usage_type, billing_currency,
        's3_intelligent_tiering' as kind,
        storage_cost as monthly_cost,
        storage_cost - stored_gb_months * infrequent.price as estimated_monthly_saving,
        stored_gb_months as usage_quantity,
        'GB-month' as usage_unit,
        requests as evidence_quantity,
        'requests' as evidence_unit,
        storage_cost / stored_gb_months as current_rate,
        infrequent.price as target_rate,
        'seed' as price_source,
        cast(null as {{ dbt.type_string() }}) as rule_confidence,
        {{ optimize_as_text('stored_gb_months', 1) }} || ' GB-month in S3 Standard at '
            || {{ optimize_as_text('storage_cost / stored_gb_months', 4) }} || '/GB-month with '
            || {{ optimize_as_text('requests', 0) }} || ' requests (' || {{ optimize_as_text('requests / stored_gb_months', 3) }}
            || ' per GB-month); Infrequent Access tier at ' || {{ optimize_as_text('infrequent.price', 4) }} as evidence
    from buckets
    inner join rules on rules.kind = 's3_intelligent_tiering'
    left join seed_prices as infrequent
        on infrequent.region_id = coalesce(buckets.region_id, '') and infrequent.price_key = 's3_infrequent_access_storage'
    where requests / stored_gb_months <= rules.threshold

),

-- steady on-demand compute a Savings Plan would cover -----------------------------------------
steady_instances as (

    select
        instances.billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name,
        max(usage_type) as usage_type, billing_currency, days_in_period,
        sum(quantity) as hours,
        sum(cost) as cost
    from instances
    group by instances.billing_period, billing_account_id, sub_account_id, region_id, resource_id,
        service_name, billing_currency, days_in_period

),

steady_on_demand_compute as (

    select
        steady_instances.billing_period, billing_account_id, sub_account_id, region_id, resource_id, service_name,
        usage_type, billing_currency,
        'steady_on_demand_compute' as kind,
        cost as monthly_cost,
        cost * discount_rates.discount_rate as estimated_monthly_saving,
        hours as usage_quantity,
        'hours' as usage_unit,
        hours / (24 * days_in_period) as evidence_quantity,
        'share of the period running' as evidence_unit,
        cost / hours as current_rate,
        cost / hours * (1 - discount_rates.discount_rate) as target_rate,
        discount_rates.discount_source as price_source,
        cast(null as {{ dbt.type_string() }}) as rule_confidence,
        {{ optimize_as_text('hours', 0) }} || ' on-demand hours of ' || cast(24 * days_in_period as {{ dbt.type_string() }})
            || ' (' || {{ optimize_as_text('100 * hours / (24 * days_in_period)', 1) }} || ' %); Savings Plan discount '
            || {{ optimize_as_text('100 * discount_rates.discount_rate', 1) }} || ' % (' || discount_rates.discount_source || ')'
            as evidence
    from steady_instances
    inner join rules on rules.kind = 'steady_on_demand_compute'
    inner join discount_rates on steady_instances.billing_period = discount_rates.billing_period
    where hours >= rules.threshold * 24 * days_in_period

),

all_kinds as (

    select * from gp2_to_gp3
    union all
    select * from io1_to_gp3
    union all
    select * from previous_generation
    union all
    select * from idle_public_ipv4
    union all
    select * from idle_metered
    union all
    select * from old_snapshots
    union all
    select * from s3_intelligent_tiering
    union all
    select * from steady_on_demand_compute

),

-- enabled rules only, and savings worth reporting (the rule's min_monthly_saving)
qualified as (

    select
        all_kinds.*,
        coalesce(all_kinds.rule_confidence, rules.confidence) as confidence,
        rules.recommended_action
    from all_kinds
    inner join rules on all_kinds.kind = rules.kind
    where all_kinds.estimated_monthly_saving >= rules.min_monthly_saving

),

ranked as (

    select
        qualified.*,
        decisions.decision,
        decisions.reason as decision_reason,
        -- the largest saving per resource and month wins; a kind the team declined ranks last
        row_number() over (
            partition by qualified.billing_period, qualified.resource_id
            order by case when decisions.decision is null then 0 else 1 end,
                qualified.estimated_monthly_saving desc, qualified.kind
        ) as resource_rank
    from qualified
    left join decisions
        on qualified.kind = decisions.kind and qualified.resource_id = decisions.resource_id

),

final as (

    select
        ranked.billing_period,
        {{ dbt.hash("ranked.kind || '|' || ranked.resource_id") }} as opportunity_id,
        ranked.kind,
        ranked.resource_id,
        coalesce(resources.team, 'unallocated') as team,
        ranked.billing_account_id,
        ranked.sub_account_id,
        ranked.region_id,
        ranked.service_name,
        ranked.usage_type,
        ranked.recommended_action,
        ranked.monthly_cost,
        ranked.estimated_monthly_saving,
        ranked.usage_quantity,
        ranked.usage_unit,
        ranked.evidence_quantity,
        ranked.evidence_unit,
        ranked.evidence,
        ranked.current_rate,
        ranked.target_rate,
        ranked.price_source,
        ranked.confidence,
        ranked.resource_rank > 1 as is_overlapping,
        ranked.decision,
        ranked.decision_reason,
        ranked.resource_rank = 1 and ranked.decision is null as is_open,
        ranked.billing_currency
    from ranked
    left join resources
        on ranked.billing_period = resources.billing_period and ranked.resource_id = resources.resource_id

)

select
    final.*,
    {{ period_status_columns('final.billing_period') }}
from final
