{#-
    The rows of `relation` whose client has not withdrawn consent (SPEC section 3, withdrawals).
    Applied where each kind enters the intermediate layer, so no mart can see a withdrawn client.
-#}
{% macro without_withdrawn_clients(relation) -%}
    select * from {{ relation }}
    where client_key not in (select client_key from {{ ref('int_clients_withdrawn') }})
{%- endmacro %}
