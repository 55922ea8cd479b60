with source as (

    select * from {{ source('landing', 'cur2') }}

),

renamed as (

    {{ aws_cur_to_canonical('source', 'cur2') }}

)

select * from renamed
