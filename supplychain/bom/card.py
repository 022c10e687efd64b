"""Read a Hugging Face model card (README front matter and text), config.json and tokenizer config.

Only what the files state is kept: placeholder text such as "[More Information
Needed]" counts as missing, and nothing is filled in with a default.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from supplychain._internal.yamlsafe import YAMLError, load_yaml
from supplychain.bom.model import CardFacts, Emissions, Metric
from supplychain.licenses import LicenseDeclaration

CARD_SOURCE = "README.md front matter"

_PLACEHOLDERS = re.compile(
    r"\[?\s*more information needed\s*\]?|\[\s*optional\s*\]|\bto be added\b|\btbd\b", re.IGNORECASE
)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")

_USE_CASES = {
    "intended uses",
    "intended use",
    "direct use",
    "downstream use",
    "uses",
    "intended uses and limitations",
    "use cases",
    "intended use cases",
}
_OUT_OF_SCOPE = {
    "out-of-scope use",
    "out-of-scope uses",
    "out of scope use",
    "out of scope uses",
    "misuse and out-of-scope use",
    "out-of-scope use cases",
}
_LIMITATIONS = {
    "limitations",
    "bias risks and limitations",
    "risks and limitations",
    "known limitations",
    "limitations and bias",
    "bias and limitations",
    "limitations and biases",
    "bias limitations and risks",
}
_ETHICAL = {
    "ethical considerations",
    "ethics",
    "ethical considerations and risks",
    "ethics and safety",
    "ethical considerations and limitations",
}

#: cdx:ai-ml taxonomy hyperparameter name -> config.json keys that carry it (first wins).
_CONFIG_HYPERPARAMETERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("context_length", ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length")),
    ("hidden_size", ("hidden_size", "d_model", "n_embd")),
    ("hidden_act", ("hidden_act", "activation_function")),
    ("num_hidden_layers", ("num_hidden_layers", "n_layer", "num_layers")),
    ("intermediate_size", ("intermediate_size", "ffn_dim", "n_inner")),
    ("num_attention_heads", ("num_attention_heads", "n_head")),
    ("num_key_value_heads", ("num_key_value_heads",)),
    ("vocab_size", ("vocab_size",)),
)

_GATING_KEYS = (
    "extra_gated_prompt",
    "extra_gated_fields",
    "extra_gated_heading",
    "extra_gated_description",
    "extra_gated_button_content",
)


@dataclass(frozen=True)
class ParsedCard:
    """A card's facts plus the raw declarations other collectors resolve."""

    facts: CardFacts
    licenses: tuple[LicenseDeclaration, ...] = ()
    base_models: tuple[str, ...] = ()
    base_model_relation: str | None = None
    datasets: tuple[str, ...] = ()
    #: (dataset id, revision) from model-index results.
    eval_datasets: tuple[tuple[str, str | None], ...] = ()
    #: Problems that did not stop parsing (become BOM findings).
    problems: tuple[str, ...] = ()


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(YAML front matter or None, Markdown body)."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None, text
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :])
    return None, text


def read_front_matter(text: str) -> tuple[dict[str, Any], str | None]:
    """(front matter mapping, problem) for a card's text; never raises on bad YAML."""
    raw, _ = split_front_matter(text)
    if raw is None:
        return {}, None
    try:
        data = load_yaml(raw)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        return {}, f"the README front matter is not valid YAML{where}"
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return {}, "the README front matter is not a YAML mapping"
    return data, None


def parse_card(
    readme: str | None,
    config: Mapping[str, Any] | None = None,
    tokenizer_config: Mapping[str, Any] | None = None,
) -> ParsedCard:
    """Everything a README, config.json and tokenizer_config.json say about the model."""
    problems: list[str] = []
    meta: dict[str, Any] = {}
    body = ""
    if readme is not None:
        meta, problem = read_front_matter(readme)
        if problem:
            problems.append(problem)
        body = split_front_matter(readme)[1]
    sections = dict(_sections(body))
    metrics, eval_datasets = _model_index(meta.get("model-index"))
    facts = CardFacts(
        present=readme is not None,
        description=_description(body),
        task=_text(meta.get("pipeline_tag")),
        library=_text(meta.get("library_name")),
        languages=_strings(meta.get("language")),
        tags=_strings(meta.get("tags")),
        use_cases=_section_items(sections, _USE_CASES),
        out_of_scope=_section_items(sections, _OUT_OF_SCOPE),
        limitations=_section_items(sections, _LIMITATIONS),
        ethical=_section_items(sections, _ETHICAL),
        metrics=metrics,
        emissions=_emissions(meta.get("co2_eq_emissions")),
        gated=any(meta.get(key) for key in _GATING_KEYS)
        or meta.get("gated") in (True, "auto", "manual"),
        gating_prompt=_text(meta.get("extra_gated_prompt")),
        new_version=_text(meta.get("new_version")),
    )
    if config is not None:
        facts = _with_config(facts, config)
    if tokenizer_config is not None:
        facts = _with_tokenizer(facts, tokenizer_config)
    return ParsedCard(
        facts=facts,
        licenses=_licenses(meta),
        base_models=_strings(meta.get("base_model")),
        base_model_relation=_text(meta.get("base_model_relation")),
        datasets=_strings(meta.get("datasets")),
        eval_datasets=eval_datasets,
        problems=tuple(problems),
    )


def _licenses(meta: Mapping[str, Any]) -> tuple[LicenseDeclaration, ...]:
    name = _text(meta.get("license_name"))
    link = _text(meta.get("license_link"))
    declared = _strings(meta.get("license"))
    if not declared and name:
        declared = ("other",)
    return tuple(
        LicenseDeclaration(
            identifier,
            name=name if identifier.lower() == "other" else None,
            url=link if (identifier.lower() == "other" or len(declared) == 1) else None,
            source=CARD_SOURCE,
        )
        for identifier in declared
    )


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float)):
        text = str(value).strip()
        return text if text and not is_placeholder(text) else None
    return None


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        items = [_text(v) for v in value]
        return tuple(dict.fromkeys(i for i in items if i))
    single = _text(value)
    return (single,) if single else ()


def is_placeholder(text: str) -> bool:
    """True when ``text`` says nothing beyond template placeholders."""
    stripped = _PLACEHOLDERS.sub("", _HTML_COMMENT.sub("", text))
    return not re.sub(r"[\s\-*_.:>`]+", "", stripped)


def _normalize_heading(heading: str) -> str:
    text = heading.lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9\- ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _sections(body: str) -> Iterator[tuple[str, str]]:
    """(normalized heading, text until the next heading), skipping fenced code."""
    heading: str | None = None
    lines: list[str] = []
    fenced = False
    for line in body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match:
            if heading is not None:
                yield heading, "\n".join(lines)
            heading, lines = _normalize_heading(match.group(2)), []
        else:
            lines.append(line)
    if heading is not None:
        yield heading, "\n".join(lines)


def _section_items(sections: Mapping[str, str], names: set[str]) -> tuple[str, ...]:
    items: list[str] = []
    for heading, text in sections.items():
        if heading in names:
            items.extend(_items(text))
    return tuple(dict.fromkeys(items))


def _items(text: str) -> list[str]:
    """Paragraphs and bullet points of a section, placeholders dropped."""
    text = _HTML_COMMENT.sub("", text)
    items: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            item = " ".join(" ".join(current).split())
            if item and not is_placeholder(item):
                items.append(item)
            current.clear()

    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            # Code samples are not statements about uses or limitations.
            fenced = not fenced
            flush()
        elif fenced:
            continue
        elif not line.strip():
            flush()
        elif _BULLET.match(line):
            flush()
            current.append(_BULLET.sub("", line, count=1))
        else:
            current.append(line.strip())
    flush()
    return items


def _description(body: str) -> str | None:
    """The first prose paragraph of the card."""
    fenced = False
    for paragraph in re.split(r"\n\s*\n", _HTML_COMMENT.sub("", body)):
        text = paragraph.strip()
        if text.startswith(("```", "~~~")):
            fenced = text.count("```") % 2 == 1 or fenced
            continue
        if fenced or not text or text.startswith(("#", "<", "![", "[!", "|", ">", "-", "*")):
            continue
        line = " ".join(text.split())
        if len(line) >= 20 and not is_placeholder(line):
            return line
    return None


def _model_index(value: Any) -> tuple[tuple[Metric, ...], tuple[tuple[str, str | None], ...]]:
    metrics: list[Metric] = []
    datasets: dict[str, str | None] = {}
    for entry in value if isinstance(value, list) else ():
        for result in entry.get("results") or () if isinstance(entry, dict) else ():
            if not isinstance(result, dict):
                continue
            raw_dataset = result.get("dataset")
            dataset: dict[str, Any] = raw_dataset if isinstance(raw_dataset, dict) else {}
            dataset_id = _text(dataset.get("type")) or _text(dataset.get("name"))
            if dataset_id:
                datasets.setdefault(dataset_id, _text(dataset.get("revision")))
            slice_ = _slice(dataset)
            for metric in result.get("metrics") or ():
                if not isinstance(metric, dict) or _text(metric.get("type")) is None:
                    continue
                value_text = _metric_value(metric.get("value"))
                if value_text is None:
                    continue
                verified = metric.get("verified")
                metrics.append(
                    Metric(
                        type=str(_text(metric.get("type"))),
                        value=value_text,
                        slice=slice_,
                        dataset=dataset_id,
                        verified=verified if isinstance(verified, bool) else None,
                    )
                )
    return tuple(metrics), tuple(datasets.items())


def _metric_value(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _slice(dataset: Mapping[str, Any]) -> str | None:
    name = _text(dataset.get("name")) or _text(dataset.get("type"))
    if name is None:
        return None
    details = [d for d in (_text(dataset.get("config")), _text(dataset.get("split"))) if d]
    return f"{name} ({', '.join(details)})" if details else name


def _emissions(value: Any) -> Emissions | None:
    """co2_eq_emissions is in grams on the Hub; CycloneDX only has tCO2eq."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Emissions(tco2eq=float(value) / 1e6)
    if not isinstance(value, dict):
        return None
    grams = value.get("emissions")
    if isinstance(grams, bool) or not isinstance(grams, (int, float)):
        return None
    return Emissions(
        tco2eq=float(grams) / 1e6,
        source=_text(value.get("source")),
        training_type=_text(value.get("training_type")),
        geographical_location=_text(value.get("geographical_location")),
        hardware_used=_text(value.get("hardware_used")),
    )


def _with_config(facts: CardFacts, config: Mapping[str, Any]) -> CardFacts:
    architectures = config.get("architectures")
    architecture = (
        _text(architectures[0]) if isinstance(architectures, list) and architectures else None
    )
    hyper: list[tuple[str, str]] = []
    for name, keys in _CONFIG_HYPERPARAMETERS:
        for key in keys:
            value = config.get(key)
            if isinstance(value, (int, float, str)) and not isinstance(value, bool):
                hyper.append((name, str(value)))
                break
    quant = config.get("quantization_config")
    if isinstance(quant, dict) and _text(quant.get("quant_method")):
        bits = quant.get("bits") or quant.get("weight_bits")
        method = str(_text(quant.get("quant_method")))
        hyper.append(("quantization", f"{method} {bits}-bit" if isinstance(bits, int) else method))
    return replace(
        facts,
        architecture_family=_text(config.get("model_type")),
        architecture=architecture,
        hyperparameters=tuple(hyper),
        auto_map_modules=_auto_map_modules(config.get("auto_map")),
    )


def _auto_map_modules(auto_map: Any) -> tuple[str, ...]:
    """Module references of ``auto_map`` (``modeling_x`` or ``org/repo--modeling_x``)."""
    refs: list[str] = []
    values = auto_map.values() if isinstance(auto_map, dict) else ()
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and "." in item:
                refs.append(item.rsplit(".", 1)[0])
    return tuple(dict.fromkeys(refs))


def _with_tokenizer(facts: CardFacts, tokenizer_config: Mapping[str, Any]) -> CardFacts:
    template = tokenizer_config.get("chat_template")
    digest = None
    if isinstance(template, str):
        digest = hashlib.sha256(template.encode("utf-8")).hexdigest()
    elif isinstance(template, list) and template:
        canonical = json.dumps(template, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    modules = facts.auto_map_modules + _auto_map_modules(tokenizer_config.get("auto_map"))
    return replace(
        facts,
        tokenizer_class=_text(tokenizer_config.get("tokenizer_class")),
        chat_template_sha256=digest,
        auto_map_modules=tuple(dict.fromkeys(modules)),
    )
