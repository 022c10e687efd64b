"""Chat template checks: known server-side template injection shapes, and real templates pass."""

from __future__ import annotations

import pytest

from supplychain.scanning.templates import chat_templates, check

REAL = [
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] }}{% endfor %}",
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system') }}"
    "{% endif %}{% set ns = namespace(first=true) %}{{ strftime_now('%d %b %Y') }}",
]
EVIL = [
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ ''|attr('__class__') }}",
    "{{ lipsum|attr('x') }}",
    "{{ self._TemplateReference__context.joiner.__init__.__globals__ }}",
    "{{ x.system('id') }}",
]


@pytest.mark.parametrize("template", REAL)
def test_real_templates_pass(template: str) -> None:
    assert check(template, "f", "chat_template") == []


@pytest.mark.parametrize("template", EVIL)
def test_injection_is_flagged(template: str) -> None:
    findings = check(template, "f", "chat_template")
    assert findings and all(f.severity.value == "high" for f in findings)


def test_named_templates() -> None:
    config = {
        "chat_template": [
            {"name": "default", "template": "a"},
            {"name": "tool_use", "template": "b"},
        ]
    }
    assert list(chat_templates(config)) == [
        ("chat_template[default]", "a"),
        ("chat_template[tool_use]", "b"),
    ]
