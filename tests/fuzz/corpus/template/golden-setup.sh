2#!/bin/sh
# Our own sample: a per-seat setup script. Ansible-style trim_blocks drops the newline after
# each block tag; '-' trims by hand.
set -eu
{% if MODEWS != 'CHLG' %}
echo "workshop mode"
{% endif %}
export PORT={{ HTTPPORT }}
export PEERS="
    {%- if STDID == '1' -%} first {%- else -%} other {%- endif -%}
"
{% raw %}
# Jinja for the participant's own Ansible lab, left as written:
echo "{{ LABSTUDENTNAME }} {% if x %}"
{% endraw %}
echo '{{ "{{" }} item {{ "}}" }}'
