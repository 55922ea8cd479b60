{#-
    The grain test: no two rows share the same values of `combination_of_columns`.
    (Same contract as dbt_utils.unique_combination_of_columns, which cannot be
    installed here.) NULLs compare equal, so a NULL key cannot hide a duplicate.
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with grouped as (

    select
        {{ combination_of_columns | join(',\n        ') }},
        count(*) as row_count
    from {{ model }}
    group by
        {{ combination_of_columns | join(',\n        ') }}
    having count(*) > 1

)

select * from grouped

{% endtest %}
