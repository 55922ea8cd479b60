{#-
    The join condition "rule `rules` matches attribute key `keys`", shared by
    seeds allocation_rules and shared_cost_rules (same match_* columns). An
    empty match column matches anything; all filled ones must match:
      match_account_id       = the account (usage account, else billing account)
      match_service_name     = service_name, case-insensitive
      match_charge_category  = charge_category, case-insensitive
      match_usage_type       LIKE pattern on usage_type, case-insensitive
      match_resource_id      LIKE pattern on resource_id, case-insensitive
      match_tag_key/_value   the line's tag value of that taxonomy key (var tag_taxonomy,
                             as resolved from the tags) equals match_tag_value, case-insensitive
    Seed values are compared as data in a join, never pasted into SQL text, so
    a quote or a semicolon in a seed or a tag is just a character.
    `keys` must have account_id, service_name, charge_category, usage_type,
    resource_id and tag_<taxonomy key> columns.
-#}
{% macro allocation_rule_matches(rules, keys) -%}
    (
        ({{ rules }}.match_account_id is null
            or {{ rules }}.match_account_id = {{ keys }}.account_id)
        and ({{ rules }}.match_service_name is null
            or lower({{ rules }}.match_service_name) = lower({{ keys }}.service_name))
        and ({{ rules }}.match_charge_category is null
            or lower({{ rules }}.match_charge_category) = lower({{ keys }}.charge_category))
        and ({{ rules }}.match_usage_type is null
            or lower({{ keys }}.usage_type) like lower({{ rules }}.match_usage_type))
        and ({{ rules }}.match_resource_id is null
            or lower({{ keys }}.resource_id) like lower({{ rules }}.match_resource_id))
        and ({{ rules }}.match_tag_key is null
            or lower(trim({{ rules }}.match_tag_value)) = lower(
                case lower(trim({{ rules }}.match_tag_key))
                    {% for taxonomy_key in var('tag_taxonomy') -%}
                    when '{{ taxonomy_key }}' then {{ keys }}.tag_{{ taxonomy_key }}
                    {% endfor -%}
                end
            ))
    )
{%- endmacro %}
