"""Jinja chat templates: injection payloads and their evasions are caught, honest
templates (loops, macros, namespaces, tool calls) stay clean."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from corpus.formats import BENIGN_TEMPLATE

from mlwarden.findings import Location, Severity
from mlwarden.scanners.base import LimitExceeded
from mlwarden.scanners.model.chat_template import analyse_template, template_findings

CMD = "touch {marker}"
# Each payload runs CMD when rendered by an unsandboxed jinja2.Environment (checked by
# test_attacks_really_execute); {cmd} is filled with a JSON string literal.
CRITICAL_ATTACKS = {
    "attribute_chain": "{{ cycler.__init__.__globals__.os.popen({cmd}).read() }}",
    "lipsum_subscript": "{{ lipsum.__globals__['os'].popen({cmd}).read() }}",
    "subscripts": "{{ cycler['__init__']['__globals__']['os'].popen({cmd}).read() }}",
    "hex_escapes": "{{ cycler['\\x5f\\x5finit\\x5f\\x5f']['\\x5f\\x5fglobals\\x5f\\x5f']"
    "['os'].popen({cmd}).read() }}",
    "unicode_escapes": "{{ lipsum['\\u005f\\u005fglobals\\u005f\\u005f'].os.popen({cmd}).read() }}",
    "octal_escapes": "{{ lipsum['\\137\\137globals\\137\\137'].os.popen({cmd}).read() }}",
    "concatenation": "{{ cycler['__in' ~ 'it__']['__glo' + 'bals__'].os.popen({cmd}).read() }}",
    "variables": "{% set u = '_' %}{% set g = u*2 ~ 'globals' ~ u*2 %}"
    "{{ lipsum[g].os.popen({cmd}).read() }}",
    "join_filter": "{{ (lipsum|attr(['_','_','glo','bals','_','_']|join))['os'].popen({cmd})"
    ".read() }}",
    "format_filter": "{{ (lipsum|attr('%c%cglobals%c%c'|format(95,95,95,95)))['os']"
    ".popen({cmd}).read() }}",
    "percent_operator": "{{ (lipsum|attr('%c%c%s%c%c' % (95,95,'globals',95,95)))['os']"
    ".popen({cmd}).read() }}",
    "reverse_filter": "{{ (lipsum|attr('__slabolg__'|reverse))['os'].popen({cmd}).read() }}",
    "replace_filter": "{{ (lipsum|attr('XXglobalsXX'|replace('X','_')))['os'].popen({cmd})"
    ".read() }}",
    "set_block": "{% set g %}__globals__{% endset %}{{ (lipsum|attr(g))['os'].popen({cmd})"
    ".read() }}",
    "self_reference": "{{ self._TemplateReference__context.cycler.__init__.__globals__.os"
    ".popen({cmd}).read() }}",
    "mro_subclasses": "{% for c in ''.__class__.__mro__[1].__subclasses__() %}"
    "{% if c.__name__ == 'catch_warnings' %}{{ c()._module.__builtins__['__import__']('os')"
    ".popen({cmd}).read() }}{% endif %}{% endfor %}",
    "map_attribute": "{{ ([lipsum]|map(attribute='__globals__')|first)['os'].popen({cmd})"
    ".read() }}",
    "statement_block": "{% if True %}{% set x = cycler.__init__.__globals__.os.popen({cmd})"
    ".read() %}{% endif %}",
    "whitespace_control": "{%- set x = lipsum.__globals__ -%}{{- x.os.popen({cmd}).read() -}}",
}
HIGH_ONLY = {
    "computed_attr": "{{ lipsum|attr(name) }}",
    "char_codes": "{{ x['%c' % 95] }}",
    "repr_characters": "{% set u = (lipsum|string|list)[18] %}{{ lipsum[u ~ u ~ 'x'] }}",
    "include": "{% include 'other.jinja' %}",
    "import": "{% import 'macros.jinja' as m %}",
    "jinja_global_subscript": "{{ cycler[key] }}",
}
BENIGN = {
    "corpus_chatml": BENIGN_TEMPLATE,
    "llama3_style": """{{- bos_token }}
{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}
{%- if not date_string is defined %}{%- set date_string = strftime_now("%d %b %Y") %}{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}
{%- else %}{%- set system_message = "" %}{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'
            + message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '{"name": "' + tool_call.name + '", "parameters": ' }}
        {{- tool_call.arguments | tojson }}{{- "}" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}""",
    "macros_and_namespaces": """{%- macro render(item, depth=0) -%}
{{ '  ' * depth }}{{ item.name | default('?') }}{% for c in item.children %}
{{ render(c, depth + 1) }}{% endfor %}{%- endmacro -%}
{%- set counter = namespace(value=0, seen=[]) -%}
{%- for msg in messages[loop_start:] if msg.role != 'system' -%}
  {%- set counter.value = counter.value + 1 -%}
  {%- set counter.seen = counter.seen + [msg.tool_call_id] -%}
  {%- if msg.role|lower == 'tool' and msg.tool_call_id not in counter.seen -%}{%- break -%}
  {%- endif -%}
  {{ render(msg) }}{{ msg.content | selectattr('type', 'equalto', 'text') | map(attribute='text')
     | join('\\n') }}{{ '%s: %d' % (msg.role, loop.index) }}{{ "{" ~ msg['role'] ~ "}" }}
  {%- if (loop.index0 % 2 == 0) != (msg.role == 'user') -%}
    {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant') }}
  {%- endif -%}
{%- endfor -%}
{% raw %}{{ __class__ }} is shown literally{% endraw %}{# a comment about __globals__ #}
Plain text may mention __init__ or self._private without running anything.
{{ messages | length }} {{ tools | tojson(indent=2) if tools else '' }}""",
}


def payload(template: str, marker: Path) -> str:
    return template.replace("{cmd}", json.dumps(CMD.format(marker=marker)))


@pytest.mark.parametrize("name", sorted(CRITICAL_ATTACKS))
def test_injections_are_critical(name: str) -> None:
    (finding,) = template_findings(
        payload(CRITICAL_ATTACKS[name], Path("/tmp/m")), Location("m.gguf"), "tmpl"
    )
    assert finding.rule_id == "MLW-TPL-001" and finding.severity is Severity.CRITICAL
    assert "CWE-1336" in finding.tags


@pytest.mark.parametrize("name", sorted(HIGH_ONLY))
def test_obfuscation_without_a_visible_dunder_is_high(name: str) -> None:
    (finding,) = template_findings(HIGH_ONLY[name], Location("m.gguf"), "tmpl")
    assert finding.rule_id == "MLW-TPL-002" and finding.severity is Severity.HIGH


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_honest_templates_are_clean(name: str) -> None:
    signals = analyse_template(BENIGN[name])
    assert signals.critical == [] and signals.high == []


def test_hostile_shapes_stay_bounded() -> None:
    for text in ("{{ " + "(" * 50_000 + " }}", "{{ " + "x[" * 50_000, "{{ '" + "a" * 100_000):
        analyse_template(text)
    huge_repeat = "{{ lipsum['_' * 99999999999] }}{{ '%99999999999d' % 1 }}"
    assert analyse_template(huge_repeat).critical == []
    with pytest.raises(LimitExceeded):
        analyse_template("x" * (5 << 20))


@pytest.mark.skipif(not os.environ.get("MLW_VERIFY_PAYLOADS"), reason="slow; child process")
def test_attacks_really_execute(tmp_path: Path) -> None:
    """Each critical payload runs its command under an unsandboxed Jinja2 environment."""
    templates = {n: payload(t, tmp_path / n) for n, t in CRITICAL_ATTACKS.items()}
    script = textwrap.dedent(
        """
        import json, sys, jinja2
        for name, text in json.loads(sys.stdin.read()).items():
            try:
                jinja2.Environment().from_string(text).render(messages=[])
            except Exception as exc:
                print(name, type(exc).__name__, exc)
        """
    )
    subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(templates), text=True, check=True
    )
    missing = [n for n in templates if not (tmp_path / n).exists()]
    assert missing == []
