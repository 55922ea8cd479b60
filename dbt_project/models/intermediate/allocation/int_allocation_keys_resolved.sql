{#-
    Owners are resolved once per DISTINCT combination of the attributes rules
    can match (account, service, charge category, usage type, resource id, the
    tag values): a few tens of thousands of keys for 10M line items. Rules are
    matched by a join (seed values are data, never SQL text), ranked, and
    pivoted; int_cost_owners_resolved joins the result back to the daily costs.

    Incremental per billing period (macros/incremental/billing_periods.sql), like
    the daily costs it reads: the keys are resolved per period, so a daily refresh
    resolves the keys of its months only. A rule, owner or team seed edit rebuilds
    every period (the orchestrator runs what depends on a changed seed for all of them).
-#}
{{ config(**billing_period_incremental_config()) }}
{%- set taxonomy = var('tag_taxonomy') %}
{%- set precedence = allocation_precedence() %}
{#- a key is resolved per billing period: the period is part of it -#}
{%- set key_columns = ['billing_period'] + allocation_key_columns() %}
{#- cost_center and owner belong to the team: after the line's own tag, the
    resolved team's entry in seed teams decides, before rules and account defaults #}
{%- set team_attributes = ['cost_center', 'owner'] %}
{%- set team_attribute_precedence = [] %}
{%- if 'tag' not in precedence %}{% do team_attribute_precedence.append('team') %}{% endif %}
{%- for source in precedence %}
{%- do team_attribute_precedence.append(source) %}
{%- if source == 'tag' %}{% do team_attribute_precedence.append('team') %}{% endif %}
{%- endfor %}
{%- set source_columns = {
    'tag': 'attribute_keys.tag_',
    'rule': 'rule_values.',
    'account_default': 'account_owners.',
} %}

with daily_costs as (

    select * from {{ ref('int_line_items_counted_daily') }}
    where {{ billing_period_filter('billing_period') }}

),

allocation_rules as (

    select * from {{ ref('allocation_rules') }}

),

account_owners as (

    select * from {{ ref('account_owners') }}

),

shared_cost_rules as (

    select * from {{ ref('shared_cost_rules') }}

),

teams as (

    select * from {{ ref('teams') }}

),

attribute_keys as (

    select distinct
        {% for column in key_columns -%}
        {{ column }},
        {% endfor -%}
        -- the account a rule or an account default refers to: the usage (linked)
        -- account, or the billing account for lines that have none
        coalesce(sub_account_id, billing_account_id) as account_id
    from daily_costs

),

rule_matches as (

    select
        {% for column in key_columns -%}
        attribute_keys.{{ column }},
        {% endfor -%}
        allocation_rules.rule_order,
        allocation_rules.rule_name,
        {% for taxonomy_key in taxonomy -%}
        nullif(trim(allocation_rules.set_{{ taxonomy_key }}), '') as set_{{ taxonomy_key }}
        {%- if not loop.last %},{% endif %}
        {% endfor %}
    from attribute_keys
    inner join allocation_rules
        on {{ allocation_rule_matches('allocation_rules', 'attribute_keys') }}

),

rule_assignments as (

    -- one row per matching rule and dimension it sets
    {% for taxonomy_key in taxonomy -%}
    select
        {% for column in key_columns -%}
        {{ column }},
        {% endfor -%}
        '{{ taxonomy_key }}' as dimension,
        rule_order,
        rule_name,
        set_{{ taxonomy_key }} as assigned_value
    from rule_matches
    where set_{{ taxonomy_key }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

ranked_rule_assignments as (

    select
        *,
        -- per dimension, the first rule (lowest rule_order) that sets it wins
        row_number() over (
            partition by {{ key_columns | join(', ') }}, dimension
            order by rule_order, rule_name
        ) as rule_rank
    from rule_assignments

),

rule_values as (

    select
        {% for column in key_columns -%}
        {{ column }},
        {% endfor -%}
        {% for taxonomy_key in taxonomy -%}
        max(case when dimension = '{{ taxonomy_key }}' then assigned_value end) as {{ taxonomy_key }},
        {% endfor -%}
        max(case when dimension = 'team' then rule_name end) as team_rule_name
    from ranked_rule_assignments
    where rule_rank = 1
    group by {{ key_columns | join(', ') }}

),

shared_rule_matches as (

    select
        {% for column in key_columns -%}
        attribute_keys.{{ column }},
        {% endfor -%}
        shared_cost_rules.rule_name as shared_cost_rule_name,
        row_number() over (
            partition by {% for column in key_columns -%}
                attribute_keys.{{ column }}{% if not loop.last %}, {% endif %}
            {%- endfor %}
            order by shared_cost_rules.rule_order, shared_cost_rules.rule_name
        ) as shared_rule_rank
    from attribute_keys
    inner join shared_cost_rules
        on {{ allocation_rule_matches('shared_cost_rules', 'attribute_keys') }}
        -- a line that carries a team tag stays with that team unless the pool says otherwise
        and (coalesce(shared_cost_rules.include_tagged, false) or attribute_keys.tag_team is null)

),

resolved as (

    select
        {% for column in key_columns + ['account_id'] -%}
        attribute_keys.{{ column }},
        {% endfor -%}
        {% for taxonomy_key in taxonomy -%}
        {% for source in precedence -%}
        {#- the tag values are the key columns tag_<key> selected above (trimmed and never
            empty: int_tag_maps_resolved); a second column of that name would be ambiguous -#}
        {% if source != 'tag' -%}
        nullif(trim({{ source_columns[source] }}{{ taxonomy_key }}), '') as {{ source }}_{{ taxonomy_key }},
        {% endif -%}
        {% endfor -%}
        {% endfor -%}
        rule_values.team_rule_name,
        shared_rule_matches.shared_cost_rule_name
    from attribute_keys
    left join rule_values
        on {% for column in key_columns -%}
            attribute_keys.{{ column }} is not distinct from rule_values.{{ column }}
            {% if not loop.last %}and {% endif %}
        {%- endfor %}
    left join account_owners
        on attribute_keys.account_id = account_owners.account_id
    left join shared_rule_matches
        on {% for column in key_columns -%}
            attribute_keys.{{ column }} is not distinct from shared_rule_matches.{{ column }}
            {% if not loop.last %}and {% endif %}
        {%- endfor %}
        and shared_rule_matches.shared_rule_rank = 1

),

team_resolved as (

    select
        resolved.*,
        coalesce(
            {%- for source in precedence %}
            {{ source }}_team{% if not loop.last %},{% endif %}
            {%- endfor %}
        ) as team,
        case
            {% for source in precedence -%}
            when {{ source }}_team is not null then '{{ source }}'
            {% endfor -%}
            else 'unallocated'
        end as allocation_method
    from resolved

),

keys_resolved as (

    select
        {% for column in key_columns -%}
        team_resolved.{{ column }},
        {% endfor -%}
        {% for taxonomy_key in taxonomy -%}
        {%- if taxonomy_key == 'team' %}
        coalesce(team_resolved.team, 'unallocated') as team,
        {%- elif taxonomy_key in team_attributes %}
        -- the team's own {{ taxonomy_key }} (seed teams) ranks right after the tag
        coalesce(
            {%- for source in team_attribute_precedence %}
            {% if source == 'team' %}nullif(trim(teams.{{ taxonomy_key }}), ''){% else %}team_resolved.{{ source }}_{{ taxonomy_key }}{% endif %},
            {%- endfor %}
            'unallocated'
        ) as {{ taxonomy_key }},
        {%- else %}
        coalesce(
            {%- for source in precedence %}
            team_resolved.{{ source }}_{{ taxonomy_key }},
            {%- endfor %}
            'unallocated'
        ) as {{ taxonomy_key }},
        {%- endif %}
        {%- endfor %}
        team_resolved.allocation_method,
        case when team_resolved.allocation_method = 'rule' then team_resolved.team_rule_name end
            as allocation_rule_name,
        team_resolved.shared_cost_rule_name
    from team_resolved
    left join teams
        on team_resolved.team = teams.team

),

final as (

    select * from keys_resolved

)

select * from final
