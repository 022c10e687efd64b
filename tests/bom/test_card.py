"""Model card parsing: front matter, sections, placeholders, units."""

from __future__ import annotations

from supplychain.bom.card import is_placeholder, parse_card


def test_placeholders_count_as_missing() -> None:
    assert is_placeholder("[More Information Needed]")
    assert is_placeholder("<!-- Provide details -->\n\n[More Information Needed]\n")
    assert is_placeholder("- [More Information Needed]")
    assert not is_placeholder("Trained on 8 GPUs. [More Information Needed]")


def test_front_matter_values_and_license_other() -> None:
    card = parse_card(
        "---\nlicense: other\nlicense_name: qwen-research\nlicense_link: LICENSE\n"
        "base_model: [a/x, b/y]\nbase_model_relation: merge\ndatasets: d1\nlanguage: en\n"
        "pipeline_tag: '[More Information Needed]'\nnew_version: acme/v2\n---\n# t\n"
    )
    [licence] = card.licenses
    assert (licence.identifier, licence.name, licence.url) == ("other", "qwen-research", "LICENSE")
    assert card.base_models == ("a/x", "b/y")
    assert card.base_model_relation == "merge"
    assert card.datasets == ("d1",)
    assert card.facts.languages == ("en",)
    assert card.facts.task is None  # a placeholder is not a task
    assert card.facts.new_version == "acme/v2"


def test_invalid_front_matter_is_a_problem_not_an_exception() -> None:
    card = parse_card("---\nlicense: [unclosed\n---\n# t\n")
    assert card.licenses == ()
    assert card.problems == ("the README front matter is not valid YAML (line 3)",)


def test_co2_in_grams_becomes_tonnes() -> None:
    assert parse_card("---\nco2_eq_emissions: 2500000\n---\n").facts.emissions.tco2eq == 2.5  # type: ignore[union-attr]
    detailed = parse_card(
        "---\nco2_eq_emissions:\n  emissions: 10\n  source: ML CO2 calculator\n---\n"
    )
    assert detailed.facts.emissions is not None
    assert detailed.facts.emissions.tco2eq == 1e-5
    assert detailed.facts.emissions.source == "ML CO2 calculator"


def test_sections_ignore_code_fences_and_collect_bullets() -> None:
    card = parse_card(
        "# m\n\nA model that does a thing well enough.\n\n"
        "## Limitations\n\n```python\n# Limitations\nprint('not a heading')\n```\n\n"
        "* first limit\n* second limit\n  continued\n\n## Ethical Considerations\n\nBe careful.\n"
    )
    assert card.facts.limitations == ("first limit", "second limit continued")
    assert card.facts.ethical == ("Be careful.",)
    assert card.facts.description == "A model that does a thing well enough."


def test_model_index_metrics_and_eval_datasets() -> None:
    card = parse_card(
        "---\nmodel-index:\n- name: m\n  results:\n  - task: {type: qa}\n"
        "    dataset: {type: squad, name: SQuAD, split: validation, revision: abc}\n"
        "    metrics:\n    - {type: f1, value: 88.5, verified: true}\n"
        "    - {type: em, value: null}\n---\n"
    )
    [metric] = card.facts.metrics
    assert (metric.type, metric.value, metric.slice, metric.verified) == (
        "f1",
        "88.5",
        "SQuAD (validation)",
        True,
    )
    assert card.eval_datasets == (("squad", "abc"),)


def test_auto_map_modules_include_tokenizer_and_other_repositories() -> None:
    card = parse_card(
        None,
        {
            "auto_map": {
                "AutoConfig": "configuration_x.XConfig",
                "AutoModel": "org/repo--modeling_x.XModel",
            }
        },
        {"auto_map": {"AutoTokenizer": ["tokenization_x.XTok", None]}},
    )
    assert card.facts.auto_map_modules == (
        "configuration_x",
        "org/repo--modeling_x",
        "tokenization_x",
    )
    assert card.facts.present is False
