"""Load a policy file (YAML or JSON): parse safely, validate against the schema, type it.

Every rejection names the file, the exact field path (``signature.signers[1].sigstore.issuer``),
the line where YAML puts it, and the reason. YAML anchors/aliases and duplicate
keys are refused: a security policy must mean one thing, visibly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from supplychain._internal.safeopen import POLICY, os_error, read_text
from supplychain.errors import InputError
from supplychain.policy.model import (
    BomPolicy,
    FormatPolicy,
    HfCachePolicy,
    LicensePolicy,
    Policy,
    RemoteCodePolicy,
    ScanPolicy,
    SignaturePolicy,
    SignerSpec,
)

SCHEMA = "policy.schema.json"


class PolicyError(InputError):
    """The policy file cannot be used: syntax, schema or a referenced file."""


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Read and validate the policy at ``path``."""
    source = Path(path)
    text = read_text(
        source,
        POLICY,
        error=PolicyError,
        missing_hint="write a starting point with `supplychain policy init policy.yaml`",
    )
    return parse_policy(text, source=source)


def parse_policy(text: str, *, source: Path | None = None) -> Policy:
    """Validate policy text; relative file references resolve against ``source``'s directory."""
    label = source or Path("<policy>")
    document, lines = _parse(text, label)
    _validate(document, lines, label)
    base = source.parent if source is not None else Path.cwd()
    return _build(document, base, label)


# -- parsing -----------------------------------------------------------------


def _parse(text: str, label: Path) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """The document and a map from field path to 1-based line (YAML only)."""
    # JSON policies go through the YAML reader too (JSON is YAML's flow style),
    # which gives one code path for line numbers and duplicate keys.
    import yaml

    from supplychain._internal.yamlsafe import compose_yaml

    try:
        node = compose_yaml(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"invalid YAML: {_yaml_problem(exc)}", path=label) from None
    if node is None:
        raise PolicyError(
            "policy is empty", path=label, hint="start from `supplychain policy init policy.yaml`"
        )
    lines: dict[tuple[Any, ...], int] = {}
    try:
        document = _node_value(node, (), lines, set(), label)
    except yaml.YAMLError as exc:  # e.g. a tag no safe constructor handles
        raise PolicyError(f"invalid YAML: {_yaml_problem(exc)}", path=label) from None
    return document, lines


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else str(problem)


def _node_value(
    node: Any, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int], seen: set[int], label: Path
) -> Any:
    """Build plain data from a composed YAML node, refusing aliases and duplicate keys."""
    import yaml

    if id(node) in seen:
        raise PolicyError(
            f"line {node.start_mark.line + 1}: YAML aliases (*anchor) are not allowed in policies",
            path=label,
            hint="write the value out in full",
        )
    seen.add(id(node))
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = (
                yaml.SafeLoader(" ").construct_object(key_node)
                if isinstance(key_node, yaml.ScalarNode)
                else None
            )
            if not isinstance(key, str):
                raise PolicyError(
                    f"line {key_node.start_mark.line + 1}: keys must be strings", path=label
                )
            if key in result:
                raise PolicyError(
                    f"line {key_node.start_mark.line + 1}: duplicate key {_dotted((*path, key))!r}",
                    path=label,
                    hint="a key may appear once; remove one of them",
                )
            result[key] = _node_value(value_node, (*path, key), lines, seen, label)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _node_value(item, (*path, i), lines, seen, label) for i, item in enumerate(node.value)
        ]
    return yaml.SafeLoader(" ").construct_object(node)


# -- validation ---------------------------------------------------------------


def _dotted(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _validate(document: Any, lines: Mapping[tuple[Any, ...], int], label: Path) -> None:
    from supplychain._internal.jsonschemas import validator as make_validator
    from supplychain._internal.schemas import load_schema

    validator = make_validator(load_schema(SCHEMA))
    errors = sorted(
        validator.iter_errors(document),
        key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))),
    )
    if not errors:
        return
    messages = []
    for error in errors[:5]:
        path = tuple(error.absolute_path)
        line = _nearest_line(path, lines)
        where = f"line {line}: " if line else ""
        messages.append(f"{where}{_dotted(path)}: {_reason(error)}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    raise PolicyError(
        "invalid policy: " + "; ".join(messages) + more,
        path=label,
        hint="see schemas/policy.schema.json or `supplychain policy init` for every field",
    )


def _nearest_line(path: tuple[Any, ...], lines: Mapping[tuple[Any, ...], int]) -> int | None:
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return None


def _reason(error: Any) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown field(s) {', '.join(map(repr, extra))}; allowed: {allowed}"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(repr, error.validator_value))}"
    if error.validator == "const":
        return f"must be {error.validator_value!r}, got {error.instance!r}"
    if (
        error.validator in ("minProperties", "maxProperties")
        and error.schema.get("maxProperties") == 1
    ):
        return "give exactly one of " + ", ".join(sorted(error.schema.get("properties", {})))
    return str(error.message)


# -- typing -------------------------------------------------------------------


def _build(document: Mapping[str, Any], base: Path, label: Path) -> Policy:
    def file(value: str, where: str) -> Path:
        path = Path(value)
        path = path if path.is_absolute() else base / path
        try:
            exists = path.is_file()
        except OSError as exc:  # e.g. a name longer than the file system allows
            raise os_error(exc, path, f"file named by {where}", PolicyError) from None
        if not exists:
            raise PolicyError(
                f"{where}: file {value!r} does not exist (looked for {path})", path=label
            )
        return path

    signature = None
    if "signature" in document:
        section = document["signature"]
        signers = tuple(
            _signer(spec, f"signature.signers[{i}]", file)
            for i, spec in enumerate(section["signers"])
        )
        signature = SignaturePolicy(
            signers=signers,
            required=section.get("required", True),
            file=section.get("file"),
            ignore_unsigned_files=section.get("ignore_unsigned_files", False),
        )
    scan = None
    if "scan" in document:
        section = document["scan"]
        scan = ScanPolicy(
            required=section.get("required", True),
            fail_on=section.get("fail_on", "high"),
            allowlist=file(section["allowlist"], "scan.allowlist")
            if "allowlist" in section
            else None,
        )
    formats = None
    if "formats" in document:
        section = document["formats"]
        formats = FormatPolicy(
            allow_pickle=section.get("allow_pickle", True),
            deny=tuple(section.get("deny", ())),
            allow=tuple(section.get("allow", ())),
            allow_unknown=section.get("allow_unknown", True),
        )
    licenses = None
    if "licenses" in document:
        section = document["licenses"]
        licenses = LicensePolicy(
            required=section.get("required", True),
            allow=tuple(section.get("allow", ())),
            deny=tuple(section.get("deny", ())),
            allow_classes=tuple(section.get("allow_classes", ())),
            openness=tuple(section.get("openness", ())),
            fail_on_conflict=section.get("fail_on_conflict", True),
        )
    bom = None
    if "bom" in document:
        section = document["bom"]
        bom = BomPolicy(
            required=section.get("required", True),
            file=section.get("file"),
            verify_hashes=section.get("verify_hashes", True),
        )
    remote = RemoteCodePolicy(**document["remote_code"]) if "remote_code" in document else None
    hf = HfCachePolicy(**document.get("hf_cache", {}))
    return Policy(
        source=None if label.name == "<policy>" else label,
        name=document.get("name"),
        use=document.get("use"),
        signature=signature,
        scan=scan,
        formats=formats,
        licenses=licenses,
        bom=bom,
        remote_code=remote,
        hf_cache=hf,
    )


def _signer(spec: Mapping[str, Any], where: str, file: Any) -> SignerSpec:
    if "public_key" in spec:
        return SignerSpec(public_key=file(spec["public_key"], f"{where}.public_key"))
    if "certificate_roots" in spec:
        roots: Sequence[str] = spec["certificate_roots"]
        return SignerSpec(
            certificate_roots=tuple(
                file(r, f"{where}.certificate_roots[{i}]") for i, r in enumerate(roots)
            )
        )
    sig = spec["sigstore"]
    trust = (
        file(sig["trust_config"], f"{where}.sigstore.trust_config")
        if "trust_config" in sig
        else None
    )
    return SignerSpec(
        sigstore_identity=sig["identity"],
        sigstore_issuer=sig["issuer"],
        sigstore_staging=sig.get("staging", False),
        sigstore_trust_config=trust,
    )
