{#-
    The semantic layer's metrics as SQL, for the models that publish their values
    (fct_finops_kpis_monthly, the untagged share of rpt_showback_monthly). The
    definitions live once, in models/semantic/*.yml (MetricFlow's format: semantic
    models, measures, simple / ratio / derived metrics); these macros read them from
    dbt's graph and write the query MetricFlow would, so the marts and `mf query`
    give the same numbers by construction (tests/test_semantic_layer.py checks it)
    on every engine dbt runs on, MetricFlow or not.

    Supported, and all the project's metrics use: measures with agg sum, max, min,
    count, count_distinct or average and an expr; simple metrics without filters;
    ratio metrics; derived metrics whose expr combines other metrics by name. Anything
    else is a compile error naming the metric, never a silently different number.
-#}

{#- The metric `name` from the graph (its dict), or a compile error. -#}
{% macro semantic_metric(name) -%}
    {%- for metric in graph.metrics.values() if metric.name == name -%}
        {{ return(metric) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("semantic layer: no metric named '" ~ name ~ "' (models/semantic/*.yml)") }}
{%- endmacro %}


{#- The semantic model that defines measure `name`, and the measure: (semantic_model, measure). -#}
{% macro semantic_measure(name) -%}
    {%- for semantic_model in graph.semantic_models.values() -%}
        {%- for measure in semantic_model.measures if measure.name == name -%}
            {{ return((semantic_model, measure)) }}
        {%- endfor -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("semantic layer: no measure named '" ~ name ~ "' (models/semantic/*.yml)") }}
{%- endmacro %}


{#- The measures a metric is built from, recursively (names, in order, each once). -#}
{% macro semantic_metric_measures(name) -%}
    {%- set metric = semantic_metric(name) -%}
    {%- set params = metric.type_params -%}
    {%- set measures = [] -%}
    {%- if metric.type == 'simple' -%}
        {%- do measures.append(params.measure.name) -%}
    {%- elif metric.type == 'ratio' -%}
        {%- set children = [params.numerator.name, params.denominator.name] -%}
    {%- elif metric.type == 'derived' -%}
        {%- set children = params.metrics | map(attribute='name') | list -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("semantic layer: metric '" ~ name ~ "' is of type " ~ metric.type
            ~ "; the marts compile simple, ratio and derived metrics only") }}
    {%- endif -%}
    {%- for child in children or [] -%}
        {%- for measure in semantic_metric_measures(child) if measure not in measures -%}
            {%- do measures.append(measure) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(measures) }}
{%- endmacro %}


{#- A metric as a SQL expression over the measure columns (named measure__<measure>). -#}
{% macro semantic_metric_expression(name) -%}
    {%- set metric = semantic_metric(name) -%}
    {%- set params = metric.type_params -%}
    {%- if metric.type == 'simple' -%}
        {%- if params.measure.filter -%}
            {{ exceptions.raise_compiler_error("semantic layer: metric '" ~ name ~ "' has a filter; put the condition in its measure's expr") }}
        {%- endif -%}
        {%- set column = 'measure__' ~ params.measure.name -%}
        {%- if params.measure.fill_nulls_with is not none -%}
            {{ return('coalesce(' ~ column ~ ', ' ~ params.measure.fill_nulls_with ~ ')') }}
        {%- endif -%}
        {{ return(column) }}
    {%- elif metric.type == 'ratio' -%}
        {{ return('cast(' ~ semantic_metric_expression(params.numerator.name) ~ ' as ' ~ type_double()
            ~ ') / nullif(cast(' ~ semantic_metric_expression(params.denominator.name) ~ ' as ' ~ type_double() ~ '), 0)') }}
    {%- elif metric.type == 'derived' -%}
        {%- set rewritten = namespace(expression=params.expr) -%}
        {%- for input in params.metrics -%}
            {%- if input.offset_window or input.offset_to_grain -%}
                {{ exceptions.raise_compiler_error("semantic layer: metric '" ~ name ~ "' uses an offset; not compiled into marts") }}
            {%- endif -%}
            {%- set rewritten.expression = modules.re.sub('\\b' ~ (input.alias or input.name) ~ '\\b',
                                                          '(' ~ semantic_metric_expression(input.name) ~ ')',
                                                          rewritten.expression) -%}
        {%- endfor -%}
        {{ return(rewritten.expression) }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error("semantic layer: metric '" ~ name ~ "' is of type " ~ metric.type) }}
{%- endmacro %}


{#- The SQL aggregate of a measure (MetricFlow's agg types). -#}
{% macro semantic_measure_aggregate(measure) -%}
    {%- set expr = measure.expr or measure.name -%}
    {%- set aggregates = {
        'sum': 'sum(' ~ expr ~ ')',
        'max': 'max(' ~ expr ~ ')',
        'min': 'min(' ~ expr ~ ')',
        'count': 'count(' ~ expr ~ ')',
        'count_distinct': 'count(distinct ' ~ expr ~ ')',
        'average': 'avg(' ~ expr ~ ')',
    } -%}
    {%- if measure.agg not in aggregates -%}
        {{ exceptions.raise_compiler_error("semantic layer: measure '" ~ measure.name ~ "' has agg " ~ measure.agg) }}
    {%- endif -%}
    {{ return(aggregates[measure.agg]) }}
{%- endmacro %}


{#-
    A query returning one row per value of `group_by` (columns every semantic model
    involved has, e.g. billing_period, billing_currency) with a column per metric
    of `metric_names` and one per measure they use (measure__<name>). A group that
    only some semantic models have gets NULL measures from the others, as in
    MetricFlow's outer join of measures.
-#}
{% macro semantic_metric_values(metric_names, group_by) -%}
    {%- if not execute -%}
        {#- graph.metrics is empty while parsing; the query is only needed when running -#}
        {{ return('select 1 as parsing_placeholder') }}
    {%- endif -%}
    {%- if 'metrics' not in graph -%}
        {#- dbt unit tests run without the graph: no definitions to compile, so no rows (the metric
            columns come out NULL); tests/test_semantic_layer.py checks the values on real builds -#}
        {%- set columns = [] -%}
        {%- for column in group_by + metric_names -%}
            {%- do columns.append('cast(null as ' ~ dbt.type_string() ~ ') as ' ~ column) -%}
        {%- endfor -%}
        {{ return('select ' ~ columns | join(', ') ~ ' where 1 = 0') }}
    {%- endif -%}
    {%- set measures_by_model = {} -%}
    {%- set model_relations = {} -%}
    {%- for metric_name in metric_names -%}
        {%- for measure_name in semantic_metric_measures(metric_name) -%}
            {%- set found = semantic_measure(measure_name) -%}
            {%- set model_name = found[0].name -%}
            {%- set source_node = found[0].depends_on.nodes[0] -%}
            {%- if source_node not in model.depends_on.nodes -%}
                {#- the metric's table is not a ref() of this model, so dbt could build it after this one -#}
                {{ exceptions.raise_compiler_error("semantic layer: " ~ model.name ~ " reads metric '" ~ metric_name
                    ~ "' from " ~ source_node.split('.')[-1] ~ "; add the line `-- depends_on: {{ ref('"
                    ~ source_node.split('.')[-1] ~ "') }}` to " ~ model.name ~ ".sql") }}
            {%- endif -%}
            {#- through ref(), so that dbt unit tests can give the semantic model's table as fixture rows -#}
            {%- do model_relations.update({model_name: ref(source_node.split('.')[-1])}) -%}
            {%- if model_name not in measures_by_model -%}{%- do measures_by_model.update({model_name: []}) -%}{%- endif -%}
            {%- if found[1] not in measures_by_model[model_name] -%}{%- do measures_by_model[model_name].append(found[1]) -%}{%- endif -%}
        {%- endfor -%}
    {%- endfor %}
with
{%- for model_name, measures in measures_by_model.items() %}
measures_{{ model_name }} as (

    select
        {{ group_by | join(',\n        ') }},
        {%- for measure in measures %}
        {{ semantic_measure_aggregate(measure) }} as measure__{{ measure.name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ model_relations[model_name] }}
    group by {{ group_by | join(', ') }}

),
{%- endfor %}

metric_groups as (

    {% for model_name in measures_by_model -%}
    select {{ group_by | join(', ') }} from measures_{{ model_name }}
    {% if not loop.last %}union
    {% endif %}
    {%- endfor %}

),

measures as (

    select
        {% for column in group_by -%}
        metric_groups.{{ column }},
        {% endfor -%}
        {%- for model_name, measures in measures_by_model.items() -%}
        {%- set outer_loop = loop -%}
        {%- for measure in measures -%}
        measures_{{ model_name }}.measure__{{ measure.name }}{% if not (outer_loop.last and loop.last) %},{% endif %}
        {% endfor -%}
        {%- endfor %}
    from metric_groups
    {% for model_name in measures_by_model -%}
    left join measures_{{ model_name }}
        on {% for column in group_by -%}
        metric_groups.{{ column }} is not distinct from measures_{{ model_name }}.{{ column }}
        {%- if not loop.last %} and {% endif %}
        {%- endfor %}
    {% endfor %}

)

select
    measures.*,
    {% for metric_name in metric_names -%}
    cast({{ semantic_metric_expression(metric_name) }} as {{ type_double() }}) as {{ metric_name }}{% if not loop.last %},{% endif %}
    {% endfor %}
from measures
{%- endmacro %}


{#-
    The metrics that are KPIs (config.meta.kpi set), sorted by name, each as a dict:
    name, description, numerator and denominator (metric names, or none when the KPI is not
    a share).
-#}
{% macro semantic_kpi_metrics() -%}
    {%- set kpis = [] -%}
    {%- if execute -%}
        {%- for metric in graph.metrics.values() | sort(attribute='name') -%}
            {%- set meta = (metric.config or {}).get('meta') or metric.meta or {} -%}
            {%- if 'kpi' in meta -%}
                {%- do kpis.append({'name': metric.name, 'numerator': meta.kpi.get('numerator'),
                                    'denominator': meta.kpi.get('denominator'),
                                    'description': (metric.description or '') | trim}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(kpis) }}
{%- endmacro %}
