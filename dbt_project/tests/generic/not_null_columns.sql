{#-
    Fails for every row where one of `columns` is NULL, naming the NULL columns.
    One scan for many columns: on a 10M-row line-item relation, a not_null test
    per column would read it a dozen times.
-#}
{% test not_null_columns(model, columns) %}

{%- set flags = ["''"] %}
{%- for column in columns %}
    {%- do flags.append("case when " ~ column ~ " is null then '" ~ column ~ " ' else '' end") %}
{%- endfor %}

select
    {{ dbt.concat(flags) }} as null_columns,
    *
from {{ model }}
where {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}

{% endtest %}
