{#-
    Seeds on Spark: dbt-spark 1.11's session connection pastes seed values into
    the INSERT as '<value>' without escaping, so an empty cell becomes the
    string 'None' and a value with a quote breaks the statement. This override
    (found first through dbt_project.yml `dispatch`) renders each value as an
    escaped SQL literal instead: NULL, numbers and booleans as such, anything
    else as a string, then casts it to the seed column's type, exactly as the
    stock macro does. Used by every dbt-spark connection method; adapters built
    on dbt-spark with their own loader (dbt-databricks) keep theirs.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set own_loader = dbt.get(target.type ~ '__load_csv_rows') if target.type != 'spark' else none -%}
    {%- if own_loader is not none -%}
        {{ return(own_loader(model, agate_table)) }}
    {%- endif -%}
    {%- set batch_size = get_batch_size() -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(batch_size) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
            ({%- for value in row -%}
                cast({{ finops_spark_literal(value) }} as {{ types[loop.index0] }})
                {%- if not loop.last %}, {% endif -%}
            {%- endfor -%}){%- if not loop.last %},{% endif %}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first %}{% do statements.append(sql) %}{% endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{% macro finops_spark_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is boolean -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
