{#- The teams of seed teams, as BI tools and alerting read them. -#}

with teams as (

    select * from {{ ref('teams') }}

),

final as (

    select
        team,
        owner,
        alert_channel,
        nullif(trim(webhook_url), '') as webhook_url,
        accountability,
        cost_center,
        business_unit
    from teams

)

select * from final
