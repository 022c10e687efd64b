"""Build the AI-BOM facts of a local model: walk and hash it once, then read what each file says."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from supplychain._internal.safeopen import (
    MAX_NESTING,
    MODEL_METADATA,
    SIGNATURE,
    json_nesting,
    nesting_problem,
    read_bytes,
)
from supplychain.bom.card import ParsedCard, parse_card
from supplychain.bom.environment import installed_libraries, read_requirements
from supplychain.bom.files import FileReading, read_file_facts
from supplychain.bom.findings import ScanReport, derive_findings, from_scan
from supplychain.bom.hub import ModelLocation, locate
from supplychain.bom.lineage import resolve_ancestors, resolve_datasets
from supplychain.bom.model import (
    AiBom,
    Ancestor,
    Conversion,
    ConversionStatus,
    Dataset,
    FileRole,
    Finding,
    Identity,
    Library,
    OmsDigest,
    ScanInfo,
    SignatureRef,
)
from supplychain.bom.provenance import (
    DeclaredConversion,
    Provenance,
    load_conversion_record,
    load_provenance,
)
from supplychain.errors import InputError
from supplychain.hashing import hash_tree, serialization_for
from supplychain.hashing.manifest import Manifest
from supplychain.licenses import (
    DataInformation,
    LicensedSubject,
    LicenseFinding,
    OpennessInput,
    ResolvedLicense,
    TrainingCode,
    check_licenses,
    classify_openness,
    resolve,
)
from supplychain.licenses.conflicts import ANCESTOR, DATASET, MODEL, TRAINING_ROLES
from supplychain.model.hfcache import check_blobs, walk_snapshot
from supplychain.model.tree import ModelTree, walk_model
from supplychain.severity import Severity

SIGNATURE_NAME = "model.sig"
_HUB_REPO = re.compile(r"^[\w.\-]+/[\w.\-]+$")


def build_bom(
    model: str | os.PathLike[str],
    *,
    provenance: str | os.PathLike[str] | None = None,
    conversion_records: Iterable[str | os.PathLike[str]] = (),
    requirements: Iterable[str | os.PathLike[str]] = (),
    installed: bool = False,
    scan: ScanReport | None = None,
    run_scan: bool = False,
    hf_cache: str | os.PathLike[str] | None = None,
    ignore: Iterable[str | os.PathLike[str]] = (),
    ignore_git_paths: bool = True,
    allow_symlinks: bool = False,
    progress: bool | None = None,
    workers: int | None = None,
    tree: ModelTree | None = None,
    sha256: Manifest | None = None,
) -> AiBom:
    """Collect the facts of the model at ``model`` (directory, file or Hub cache snapshot).

    Reads local files only. ``scan`` attaches a scanner's findings, or
    ``run_scan`` runs the scanner on the walked tree itself; ``hf_cache``
    points at a Hugging Face cache whose cards describe base models and datasets
    (defaults to the cache the model itself is in, if any). Callers that have
    already walked the model and hashed it (files, sha256) pass ``tree`` and
    ``sha256`` so the model is read once.
    """
    location = locate(model)
    declared = load_provenance(provenance) if provenance is not None else None
    recorded = tuple(c for path in conversion_records for c in load_conversion_record(path))
    libraries = _libraries(requirements, installed)
    signature = location.root / SIGNATURE_NAME if location.kind != "file" else None
    if signature is not None and not signature.is_file():
        signature = None
    walk: dict[str, Any] = {
        "ignore": ignore,
        "ignore_git_paths": ignore_git_paths,
        "signature": signature,
    }
    if tree is None:
        if location.snapshot is not None:
            tree = walk_snapshot(location.snapshot, **walk)
        else:
            tree = walk_model(location.root, allow_symlinks=allow_symlinks, **walk)
    serialization = serialization_for(tree, "sha256")
    if (
        sha256 is not None
        and sha256.serialization.method == "files"
        and (sha256.serialization.hash_type == "sha256")
    ):
        manifest = sha256
    else:
        manifest, _, _ = hash_tree(tree, serialization, progress=progress, workers=workers)
    digests = {resource.name: resource.hex for resource in manifest.resources}
    # Blob names of a cache snapshot are digests: check them with the digests just computed.
    blobs = (
        {c.name: c for c in check_blobs(tree, {r.name: r.digest for r in manifest.resources})}
        if location.snapshot is not None
        else {}
    )

    if scan is None and run_scan:
        scan = _scan(tree)
    card = _read_card(tree)
    readings = [
        read_file_facts(f, digests[f.name], card.facts.auto_map_modules, blobs.get(f.name))
        for f in tree.files
    ]
    files = tuple(r.facts for r in readings)
    hub_cache = Path(hf_cache) if hf_cache is not None else location.hub_cache
    ancestors = resolve_ancestors(
        card.base_models,
        card.base_model_relation,
        declared.base_models if declared else (),
        hub_cache,
    )
    datasets = resolve_datasets(
        card.datasets, card.eval_datasets, declared.datasets if declared else (), hub_cache
    )
    licenses, license_problems = _model_licenses(card, declared)
    conversions = _conversions(
        (*(declared.conversions if declared else ()), *recorded), {f.name: f.sha256 for f in files}
    )
    findings = derive_findings(files, card.facts, conversions, scan, _problems(readings, card))
    if scan is not None:
        findings = from_scan(scan) + findings
    training = declared.training if declared else None
    gated = card.facts.gated or bool(declared and declared.gated)
    openness = classify_openness(
        OpennessInput(
            licenses=licenses,
            has_weights=any(f.role is FileRole.WEIGHTS for f in files),
            gated=gated,
            gating_evidence=_gating_evidence(card, declared),
            training_data=tuple(
                DataInformation(d.name, has_source=d.url is not None, has_license=bool(d.licenses))
                for d in datasets
                if TRAINING_ROLES.intersection(d.roles)
            ),
            training_code=(
                TrainingCode(training.code_repository, training.code_commit, training.code_licenses)
                if training
                else None
            ),
            inherited=tuple(
                (a.repo_id, lic) for a in flatten_ancestors(ancestors) for lic in a.licenses
            ),
        )
    )
    return AiBom(
        identity=_identity(location, declared, tree),
        files=files,
        oms=OmsDigest(
            manifest.root_digest_hex,
            serialization.hash_type,
            serialization.ignore_paths,
            serialization.allow_symlinks,
        ),
        card=card.facts,
        licenses=licenses,
        openness=openness,
        signature=_signature(signature),
        ancestors=ancestors,
        datasets=datasets,
        libraries=libraries,
        conversions=conversions,
        training=training,
        findings=_sorted(findings),
        license_findings=license_problems + _license_findings(licenses, ancestors, datasets),
        scan=ScanInfo(scan.scanner, scan.version, scan.files) if scan else None,
        provenance_sha256=declared.sha256 if declared else None,
    )


def _read_card(tree: ModelTree) -> ParsedCard:
    """README.md, config.json and tokenizer_config.json at the model root, when present."""
    readme = _read_text(tree, "README.md")
    return parse_card(
        readme, _read_json(tree, "config.json"), _read_json(tree, "tokenizer_config.json")
    )


def _read_text(tree: ModelTree, name: str) -> str | None:
    file = tree.get(name)
    if file is None or file.size > MODEL_METADATA.max_bytes:
        return None
    data = read_bytes(file.path, MODEL_METADATA, what=f"model's {name}")
    return data.decode("utf-8", errors="replace")


def _read_json(tree: ModelTree, name: str) -> dict[str, Any] | None:
    text = _read_text(tree, name)
    if text is None:
        return None
    if json_nesting(text) > MAX_NESTING:
        raise InputError(
            nesting_problem(f"model's {name}"),
            path=tree.root / name,
            hint="a model configuration is a flat JSON object; this one is malformed or hostile",
        )
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _problems(
    readings: Sequence[FileReading], card: ParsedCard
) -> list[tuple[str | None, str, str]]:
    problems: list[tuple[str | None, str, str]] = [
        (r.facts.name, r.problem[0], r.problem[1]) for r in readings if r.problem
    ]
    problems += [("README.md", "card.front-matter-invalid", p) for p in card.problems]
    return problems


def _identity(location: ModelLocation, declared: Provenance | None, tree: ModelTree) -> Identity:
    hub_repo = location.hub_repo
    source = location.kind
    declared_name = declared.model_name if declared else None
    if hub_repo is None and declared_name and _HUB_REPO.match(declared_name):
        hub_repo, source = declared_name, "provenance"
    version = (declared.model_version if declared else None) or location.revision
    repository_url = (declared.repository_url if declared else None) or location.repository_url
    if hub_repo is not None:
        group, _, name = hub_repo.rpartition("/")
        return Identity(name, group or None, version, hub_repo, repository_url, source)
    if declared_name:
        return Identity(declared_name, None, version, None, repository_url, "provenance")
    return Identity(tree.root.name, None, version, None, repository_url, source)


def _model_licenses(
    card: ParsedCard, declared: Provenance | None
) -> tuple[tuple[ResolvedLicense, ...], tuple[LicenseFinding, ...]]:
    from_card = tuple(resolve(d) for d in card.licenses)
    from_provenance = tuple(resolve(d) for d in declared.model_licenses) if declared else ()
    if not from_card:
        return from_provenance, ()
    if from_provenance and {lic.key for lic in from_card} != {lic.key for lic in from_provenance}:
        return from_card, (
            LicenseFinding(
                "license.card-provenance-mismatch",
                Severity.MEDIUM,
                MODEL,
                "model",
                f"the model card declares {', '.join(lic.label for lic in from_card)} but the "
                f"provenance file declares {', '.join(lic.label for lic in from_provenance)}; "
                "the card is what users see, so the BOM records the card's",
            ),
        )
    return from_card, ()


def _license_findings(
    licenses: tuple[ResolvedLicense, ...],
    ancestors: Sequence[Ancestor],
    datasets: Sequence[Dataset],
) -> tuple[LicenseFinding, ...]:
    model = LicensedSubject(MODEL, "model", licenses)
    lineage = [
        LicensedSubject(ANCESTOR, a.repo_id, a.licenses, relation=a.relation)
        for a in flatten_ancestors(ancestors)
    ]
    data = [LicensedSubject(DATASET, d.name, d.licenses, roles=d.roles) for d in datasets]
    return check_licenses(model, lineage, data)


def flatten_ancestors(ancestors: Sequence[Ancestor]) -> list[Ancestor]:
    """Every ancestor, depth first, each repository once."""
    out: list[Ancestor] = []
    seen: set[str] = set()
    stack = list(reversed(ancestors))
    while stack:
        ancestor = stack.pop()
        if ancestor.repo_id in seen:
            continue
        seen.add(ancestor.repo_id)
        out.append(ancestor)
        stack.extend(reversed(ancestor.ancestors))
    return out


def _conversions(
    declared: Sequence[DeclaredConversion], digests: dict[str, str]
) -> tuple[Conversion, ...]:
    conversions = []
    for record in declared:
        actual = digests.get(record.output_name)
        if actual is None:
            status = ConversionStatus.MISSING
        elif actual == record.output_sha256:
            status = ConversionStatus.MATCH
        else:
            status = ConversionStatus.MISMATCH
        conversions.append(
            Conversion(
                record.source_name,
                record.source_sha256,
                record.output_name,
                record.output_sha256,
                record.tool_name,
                record.tool_version,
                status,
                record.timestamp,
                record.command,
            )
        )
    return tuple(conversions)


def _gating_evidence(card: ParsedCard, declared: Provenance | None) -> str | None:
    if card.facts.gated:
        prompt = card.facts.gating_prompt
        return "the card's extra_gated_* terms" + (f": {prompt[:120]}" if prompt else "")
    if declared and declared.gated:
        return "declared gated in the provenance file"
    return None


def _signature(path: Path | None) -> SignatureRef | None:
    if path is None:
        return None
    data = read_bytes(path, SIGNATURE)
    return SignatureRef(path.name, hashlib.sha256(data).hexdigest(), len(data))


def _libraries(
    requirements: Iterable[str | os.PathLike[str]], installed: bool
) -> tuple[Library, ...]:
    found: dict[str, Library] = {}
    sources = [read_requirements(path) for path in requirements]
    if installed:
        sources.append(installed_libraries())
    for libraries in sources:
        for library in libraries:
            found.setdefault(library.purl.split("@")[0], library)
    return tuple(found[k] for k in sorted(found))


def _sorted(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Worst first, then by file and rule, so the BOM lists them in a stable order."""
    return tuple(
        sorted(findings, key=lambda f: (-f.severity.rank, f.file or "", f.rule_id, f.message))
    )


def _scan(tree: ModelTree) -> ScanReport:
    """Scan the files already walked (the scanner reads pickles and headers, not weights)."""
    from supplychain.scanning import ScanReport as FullReport
    from supplychain.scanning import scan_tree
    from supplychain.scanning.report import to_bom_scan_report

    return to_bom_scan_report(FullReport(tuple(scan_tree(tree))))
