{#-
    The model has as many rows as `compare_model`: a 1:1 enrichment (left joins
    to lookups) did not fan out or drop rows. Cheaper than re-testing a grain
    that the compared model already tests.
-#}
{% test equal_rowcount(model, compare_model) %}

with model_rows as (

    select count(*) as row_count from {{ model }}

),

compare_rows as (

    select count(*) as row_count from {{ compare_model }}

)

select
    model_rows.row_count as model_row_count,
    compare_rows.row_count as compare_row_count
from model_rows
cross join compare_rows
where model_rows.row_count <> compare_rows.row_count

{% endtest %}
