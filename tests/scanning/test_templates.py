"""Chat template checks: known server-side template injection shapes, and real templates pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supplychain.scanning.templates import chat_templates, check
from tests.conftest import RunCli

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


def test_a_standalone_chat_template_file_is_checked(run_cli: RunCli, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "chat_template.jinja").write_text(EVIL[0])
    (model / "tokenizer_config.json").write_text('{"model_max_length": 512}')
    result = run_cli("scan", "--json", model)
    assert result.exit_code == 1
    files = {f["name"]: f for f in json.loads(result.stdout)["files"]}
    template = files["model/chat_template.jinja"]
    assert template["format"] == "chat-template" and template["max_severity"] == "high"
    assert template["findings"][0]["rule"] == "template.code-execution"


def test_a_real_chat_template_file_is_clean(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "chat_template.jinja"
    path.write_text("".join(REAL))
    result = run_cli("scan", "--json", path)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["files"][0]["format"] == "chat-template"
