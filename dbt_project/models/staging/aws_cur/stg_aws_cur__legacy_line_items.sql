with source as (

    select * from {{ source('landing', 'cur_legacy') }}

),

renamed as (

    {{ aws_cur_to_canonical('source', 'cur_legacy') }}

)

select * from renamed
