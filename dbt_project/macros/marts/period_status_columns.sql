{#-
    The two flags every period-grained mart ends with, so a dashboard can default to the last
    complete month (`where is_closed_period and ...`) or to the newest one (`where is_latest_period`):

    - is_closed_period: the billing period's calendar month had ended when this build ran
      (billing_period < first day of the build's month, UTC). "As of the build", not "as of
      the query": a literal of the build's start, so a table built mid-month keeps saying
      "open" when it is read next month — its rows were computed before the month was over.
      Marts that are views (over incremental tables) are recreated by every build, so they
      carry the same literal. AWS may still restate a closed month for a few days; the
      daily schedule reloads the last FINOPS_RESTATEMENT_MONTHS periods and rebuilds.
    - is_latest_period: the row's billing period is the newest one present in this mart.
      Computed over the whole mart (a window over every row), never stored per period in an
      incremental table, where it would go stale when a new period arrives.

    Plain SQL (a date literal, max() over ()): the same on DuckDB and Spark.
-#}
{% macro period_status_columns(period_column='billing_period') -%}
    {{ period_column }} < cast('{{ run_started_at.strftime("%Y-%m-01") }}' as date) as is_closed_period,
    {{ period_column }} = max({{ period_column }}) over () as is_latest_period
{%- endmacro %}
