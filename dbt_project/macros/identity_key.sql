{#- The form in which two spellings of one name or code are the same: Unicode NFC, lower case, inner
    whitespace collapsed ('ĐGV-07 ' and 'đgv-07' are one evaluator; 'Hà' and 'Hạ' stay two). The same
    rule as portal_index.core.text.identity, which the survey loader's duplicate check uses. -#}
{% macro identity_key(column) -%}
    lower(nfc_normalize(trim(regexp_replace({{ column }}, '\s+', ' ', 'g'))))
{%- endmacro %}
