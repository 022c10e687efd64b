"""Render :class:`~supplychain.bom.model.AiBom` facts as CycloneDX 1.6 or 1.7 JSON.

Written directly from the typed facts rather than through cyclonedx-python-lib's
object model: the library cannot express ``modelCard``, ``data`` or
``formulation`` (everyone injects them after serialising), and building its
objects costs about a second per 2,000 files. The official schemas, bundled
with that library, are still the gate: :mod:`supplychain.bom.validate` rejects
anything they refuse before a byte is written.

Where CycloneDX has no field for a fact, it goes in ``properties``: the
``cdx:ai-ml:*`` names of the CycloneDX property taxonomy where one exists, our
``supplychain:*`` names otherwise. Scanner and integrity findings are
``vulnerabilities`` (rated, CWE-linked, and pointing at the affected file's
bom-ref, so policy engines and Dependency-Track can act on them); licence
findings are properties on the component they concern, since CycloneDX has no
licence-compliance construct short of ``declarations``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from supplychain._version import __version__
from supplychain.bom.model import (
    AiBom,
    Ancestor,
    Conversion,
    ConversionStatus,
    Dataset,
    Finding,
    Library,
    ModelFileFacts,
)
from supplychain.licenses import LicenseFinding, ResolvedLicense

TOOL_REF = "tool:supplychain"
MODEL_REF = "model"
FORMULA_REF = "formula"
TRAINING_REF = "workflow:training"
TRAINING_CODE_REF = "training-code"
HOMEPAGE = "https://github.com/supplychain-dev/supplychain"
NS = "supplychain"

Properties = list[dict[str, str]]
Json = dict[str, Any]

#: What a CycloneDX iri-reference can hold (no whitespace or characters RFC 3987 forbids).
_IRI = re.compile(r'^[^\s<>"{}|\\^`\x00-\x1f\x7f]+$')


def file_ref(name: str) -> str:
    return f"file:{name}"


def dataset_ref(name: str) -> str:
    return f"dataset:{name}"


def library_ref(library: Library) -> str:
    return library.purl


def iri(value: str | None) -> str | None:
    """``value`` if it can go in a CycloneDX URL field, else None."""
    return value if value and _IRI.match(value) else None


def prop(name: str, value: object) -> dict[str, str]:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return {"name": name, "value": str(value)}


class CycloneDxWriter:
    """Builds one CycloneDX JSON document (a dict) from the facts."""

    def __init__(self, bom: AiBom, spec_version: str) -> None:
        self.bom = bom
        self.spec_version = spec_version
        #: id(ancestor) -> bom-ref; one repository may appear in several branches of the lineage.
        self._ancestor_refs: dict[int, str] = {}
        self._used_ancestor_refs: set[str] = set()

    def ancestor_ref(self, ancestor: Ancestor) -> str:
        ref = self._ancestor_refs.get(id(ancestor))
        if ref is None:
            ref = base = f"ancestor:{ancestor.repo_id}"
            counter = 1
            while ref in self._used_ancestor_refs:
                counter += 1
                ref = f"{base}#{counter}"
            self._used_ancestor_refs.add(ref)
            self._ancestor_refs[id(ancestor)] = ref
        return ref

    def document(self, serial_number: str, timestamp: str) -> Json:
        bom = self.bom
        document: Json = {
            "$schema": f"http://cyclonedx.org/schema/bom-{self.spec_version}.schema.json",
            "bomFormat": "CycloneDX",
            "specVersion": self.spec_version,
            "serialNumber": serial_number,
            "version": 1,
            "metadata": self._metadata(timestamp),
        }
        components = [self._dataset(d) for d in bom.datasets]
        components += [self._library(lib) for lib in bom.libraries]
        if components:
            document["components"] = components
        document["dependencies"] = self._dependencies()
        if bom.findings:
            document["vulnerabilities"] = [
                self._finding(i, f) for i, f in enumerate(bom.findings, 1)
            ]
        formula = self._formula()
        if formula:
            document["formulation"] = [formula]
        if self.spec_version != "1.6":
            from supplychain.bom.citations import citations

            cited = citations(bom, document, timestamp)
            if cited:
                document["citations"] = cited
        return document

    # --- metadata and the model ---------------------------------------------------------------

    def _metadata(self, timestamp: str) -> Json:
        metadata: Json = {
            "timestamp": timestamp,
            "lifecycles": [{"phase": "post-build"}],
            "tools": {
                "components": [
                    {
                        "bom-ref": TOOL_REF,
                        "type": "application",
                        "name": "supplychain",
                        "version": __version__,
                        "externalReferences": [{"type": "website", "url": HOMEPAGE}],
                    }
                ]
            },
            "component": self._model(),
        }
        properties = [prop(f"{NS}:scan:performed", self.bom.scan is not None)]
        if self.bom.scan is not None:
            properties.append(
                prop(f"{NS}:scan:scanner", f"{self.bom.scan.name} {self.bom.scan.version}")
            )
        if self.bom.provenance_sha256:
            properties.append(prop(f"{NS}:provenance:sha256", self.bom.provenance_sha256))
        metadata["properties"] = properties
        return metadata

    def _model(self) -> Json:
        bom, identity = self.bom, self.bom.identity
        model: Json = {"bom-ref": MODEL_REF, "type": "machine-learning-model"}
        if identity.group:
            model["publisher"] = identity.group
            model["group"] = identity.group
        model["name"] = identity.name
        if identity.version:
            model["version"] = identity.version
        if bom.card.description:
            model["description"] = bom.card.description
        if bom.licenses:
            model["licenses"] = [self._license(lic) for lic in bom.licenses]
        if identity.purl:
            model["purl"] = identity.purl
        references = self._model_references()
        if references:
            model["externalReferences"] = references
        model["properties"] = self._model_properties()
        if bom.card.tags:
            model["tags"] = list(bom.card.tags)
        if bom.files:
            model["components"] = [self._file(f) for f in bom.files]
        if bom.ancestors:
            model["pedigree"] = {
                "ancestors": [self._ancestor(a) for a in bom.ancestors],
                "notes": "; ".join(_lineage_note(a) for a in bom.ancestors),
            }
        card = self._model_card()
        if card:
            model["modelCard"] = card
        return model

    def _model_references(self) -> list[Json]:
        identity = self.bom.identity
        refs: list[Json] = []
        if identity.repository_url and iri(identity.repository_url):
            refs.append({"type": "vcs", "url": identity.repository_url})
        if identity.hub_repo:
            page = f"https://huggingface.co/{identity.hub_repo}"
            refs.append({"type": "website", "url": page})
            readme = next((f for f in self.bom.files if f.name == "README.md"), None)
            if readme is not None and identity.version:
                refs.append(
                    {
                        "type": "model-card",
                        "url": f"{page}/blob/{identity.version}/README.md",
                        "hashes": [{"alg": "SHA-256", "content": readme.sha256}],
                    }
                )
        signature = self.bom.signature
        if signature is not None:
            refs.append(
                {
                    "type": "attestation",
                    "url": signature.name,
                    "comment": "OpenSSF Model Signing (OMS) signature found beside the model, "
                    f"over root digest sha256:{self.bom.oms.root_digest}; its validity is not "
                    "checked by this BOM "
                    "(use `supplychain verify` or `model_signing verify`)",
                    "hashes": [{"alg": "SHA-256", "content": signature.sha256}],
                }
            )
        return refs

    def _model_properties(self) -> Properties:
        bom, card = self.bom, self.bom.card
        props = [prop(f"{NS}:identity:source", bom.identity.source)]
        if bom.parameter_count is not None:
            props.append(prop("cdx:ai-ml:model:parameter:count", bom.parameter_count))
            props += [prop(f"{NS}:parameters:dtype:{dtype}", n) for dtype, n in bom.dtype_mix]
        if bom.training and bom.training.method:
            props.append(prop("cdx:ai-ml:model:parameter:tune_method", bom.training.method))
        props += [prop(f"cdx:ai-ml:model:hyperparameter:{k}", v) for k, v in card.hyperparameters]
        props += [prop("cdx:ai-ml:model:language", lang) for lang in card.languages]
        if card.tokenizer_class:
            props.append(
                prop("cdx:ai-ml:tokenizer:hyperparameter:tokenizer_class", card.tokenizer_class)
            )
        if card.chat_template_sha256:
            props.append(prop("cdx:ai-ml:model:template:chat", True))
            props.append(prop(f"{NS}:chat-template:sha256", card.chat_template_sha256))
        if card.library:
            props.append(prop(f"{NS}:card:library", card.library))
        if card.new_version:
            props.append(prop(f"{NS}:card:new-version", card.new_version))
        props += [prop(f"{NS}:remote-code:auto-map", m) for m in card.auto_map_modules]
        props.append(prop(f"{NS}:oms:root-digest", f"sha256:{bom.oms.root_digest}"))
        props.append(prop(f"{NS}:oms:hash-type", bom.oms.hash_type))
        props.append(prop(f"{NS}:oms:allow-symlinks", bom.oms.allow_symlinks))
        props += [prop(f"{NS}:oms:ignore-path", p) for p in bom.oms.ignore_paths]
        props.append(prop(f"{NS}:openness:class", bom.openness.openness.value))
        props += [prop(f"{NS}:openness:evidence", e) for e in bom.openness.evidence]
        props += _license_finding_props(
            f for f in bom.license_findings if f.subject_kind == "model"
        )
        return props

    def _file(self, file: ModelFileFacts) -> Json:
        props = [
            prop(f"{NS}:file:size", file.size),
            prop(f"{NS}:file:role", file.role.value),
            prop(f"{NS}:file:format", file.format.value),
        ]
        if file.can_execute_code:
            props.append(prop(f"{NS}:file:can-execute-code", True))
        if file.extension_mismatch:
            props.append(prop(f"{NS}:file:extension-mismatch", True))
        if file.remote_code:
            props.append(prop(f"{NS}:file:remote-code", True))
        if file.weights is not None:
            props.append(prop(f"{NS}:file:parameters", file.weights.parameters))
            props.append(prop(f"{NS}:file:tensors", file.weights.tensors))
            props += [prop(f"{NS}:file:dtype:{dtype}", n) for dtype, n in file.weights.dtypes]
        if file.hf_blob:
            props.append(prop(f"{NS}:hf:blob", file.hf_blob))
            if file.blob_verified is not None:
                props.append(prop(f"{NS}:hf:blob-verified", file.blob_verified))
        component: Json = {
            "bom-ref": file_ref(file.name),
            "type": "file",
            "name": file.name,
            "hashes": [{"alg": "SHA-256", "content": file.sha256}],
            "properties": props,
        }
        sources = [c for c in self.bom.conversions if c.output_name == file.name]
        if sources:
            component["pedigree"] = {
                "ancestors": [_conversion_source(c, with_ref=False) for c in sources],
                "notes": "; ".join(
                    f"converted from {c.source_name} by {c.tool_name} {c.tool_version}"
                    for c in sources
                ),
            }
        return component

    def _license(self, lic: ResolvedLicense) -> Json:
        inner: Json = {"id": lic.spdx} if lic.spdx else {"name": lic.name}
        url = iri(lic.url)
        if url:
            inner["url"] = url
        # CycloneDX: "declared" by the publisher, "concluded" by analysis (ours).
        inner["acknowledgement"] = "concluded" if lic.declared.inferred else "declared"
        props = [
            prop(f"{NS}:license:identifier", lic.identifier),
            prop(f"{NS}:license:class", lic.license_class.value),
            prop(f"{NS}:license:commercial-use", lic.commercial_use.value),
            prop(
                f"{NS}:license:redistribution",
                lic.entry.redistribution.value if lic.entry else "unknown",
            ),
            prop(f"{NS}:license:osi-approved", lic.osi_approved),
        ]
        if lic.declared.identifier:
            props.append(prop(f"{NS}:license:declared-as", lic.declared.identifier))
        if lic.declared.source:
            props.append(prop(f"{NS}:license:source", lic.declared.source))
        if lic.url and not url:
            props.append(prop(f"{NS}:license:link", lic.url))
        props += [prop(f"{NS}:license:restriction", r) for r in lic.restrictions]
        inner["properties"] = props
        return {"license": inner}

    # --- lineage, data, libraries ---------------------------------------------------------------

    def _ancestor(self, ancestor: Ancestor) -> Json:
        ref = self.ancestor_ref(ancestor)
        group, _, name = ancestor.repo_id.rpartition("/")
        component: Json = {"bom-ref": ref, "type": "machine-learning-model"}
        if group:
            component["group"] = group
        component["name"] = name
        if ancestor.revision:
            component["version"] = ancestor.revision
        if ancestor.sha256:
            component["hashes"] = [{"alg": "SHA-256", "content": ancestor.sha256}]
        if ancestor.licenses:
            component["licenses"] = [self._license(lic) for lic in ancestor.licenses]
        component["purl"] = ancestor.purl
        component["externalReferences"] = [
            {"type": "website", "url": f"https://huggingface.co/{ancestor.repo_id}"}
        ]
        props = []
        if ancestor.relation:
            props.append(prop(f"{NS}:lineage:relation", ancestor.relation))
        props.append(prop(f"{NS}:lineage:source", ancestor.source))
        props += _license_finding_props(
            f
            for f in self.bom.license_findings
            if f.subject_kind == "ancestor" and f.subject == ancestor.repo_id
        )
        component["properties"] = props
        if ancestor.ancestors:
            component["pedigree"] = {
                "ancestors": [self._ancestor(a) for a in ancestor.ancestors],
                "notes": "; ".join(_lineage_note(a) for a in ancestor.ancestors),
            }
        return component

    def _dataset(self, dataset: Dataset) -> Json:
        component: Json = {
            "bom-ref": dataset_ref(dataset.name),
            "type": "data",
            "name": dataset.name,
        }
        if dataset.version:
            component["version"] = dataset.version
        if dataset.description:
            component["description"] = dataset.description
        if dataset.hashes:
            component["hashes"] = [{"alg": alg, "content": value} for alg, value in dataset.hashes]
        if dataset.licenses:
            component["licenses"] = [self._license(lic) for lic in dataset.licenses]
        url = iri(dataset.url)
        if url:
            component["externalReferences"] = [{"type": "distribution", "url": url}]
        data: Json = {"type": "dataset", "name": dataset.name}
        if url:
            data["contents"] = {"url": url}
        if dataset.classification:
            data["classification"] = dataset.classification
        if dataset.sensitive_data:
            data["sensitiveData"] = list(dataset.sensitive_data)
        governance = {
            role: [{"organization": {"name": n}} for n in names]
            for role, names in (
                ("owners", dataset.owners),
                ("custodians", dataset.custodians),
                ("stewards", dataset.stewards),
            )
            if names
        }
        if governance:
            data["governance"] = governance
        if dataset.description:
            data["description"] = dataset.description
        component["data"] = [data]
        props = [prop(f"{NS}:dataset:role", r) for r in dataset.roles]
        props += [prop(f"{NS}:dataset:source", s) for s in dataset.sources]
        if dataset.collected_from:
            props.append(prop(f"{NS}:dataset:collected-from", dataset.collected_from))
        if dataset.collected_to:
            props.append(prop(f"{NS}:dataset:collected-to", dataset.collected_to))
        props += _license_finding_props(
            f
            for f in self.bom.license_findings
            if f.subject_kind == "dataset" and f.subject == dataset.name
        )
        component["properties"] = props
        return component

    def _library(self, library: Library) -> Json:
        from cyclonedx.spdx import is_supported_id

        component: Json = {"bom-ref": library_ref(library), "type": "library", "name": library.name}
        if library.version:
            component["version"] = library.version
        if library.license_expression:
            expression = library.license_expression
            component["licenses"] = (
                [{"license": {"id": expression, "acknowledgement": "declared"}}]
                if is_supported_id(expression)
                else [{"expression": expression, "acknowledgement": "declared"}]
            )
        elif library.license_name:
            component["licenses"] = [
                {"license": {"name": library.license_name, "acknowledgement": "declared"}}
            ]
        component["purl"] = library.purl
        props = [prop(f"{NS}:requirement:source", library.source)]
        if library.specifier:
            props.append(prop(f"{NS}:requirement:specifier", library.specifier))
        component["properties"] = props
        return component

    def _dependencies(self) -> list[Json]:
        libraries = [library_ref(lib) for lib in self.bom.libraries]
        model: Json = {"ref": MODEL_REF}
        if libraries:
            model["dependsOn"] = libraries
        return [model, *({"ref": ref} for ref in libraries)]

    # --- findings -------------------------------------------------------------------------------

    def _finding(self, index: int, finding: Finding) -> Json:
        source = self.bom.scan.name if finding.origin == "scan" and self.bom.scan else "supplychain"
        entry: Json = {
            "bom-ref": f"finding:{index}",
            "id": finding.rule_id,
            "source": {"name": source},
            "ratings": [
                {"source": {"name": source}, "severity": finding.severity.value, "method": "other"}
            ],
        }
        if finding.cwe is not None:
            entry["cwes"] = [finding.cwe]
        entry["description"] = finding.message
        if finding.recommendation:
            entry["recommendation"] = finding.recommendation
        if finding.origin == "scan" and self.bom.scan is not None:
            entry["tools"] = {
                "components": [
                    {
                        "type": "application",
                        "name": self.bom.scan.name,
                        "version": self.bom.scan.version,
                    }
                ]
            }
        affected = (
            file_ref(finding.file) if finding.file and self._has_file(finding.file) else MODEL_REF
        )
        entry["affects"] = [{"ref": affected}]
        entry["properties"] = [prop(f"{NS}:finding:origin", finding.origin)]
        if finding.file and affected == MODEL_REF:
            entry["properties"].append(prop(f"{NS}:finding:file", finding.file))
        return entry

    def _has_file(self, name: str) -> bool:
        return any(f.name == name for f in self.bom.files)

    # --- model card -----------------------------------------------------------------------------

    def _model_card(self) -> Json:
        bom, card = self.bom, self.bom.card
        parameters: Json = {}
        if bom.training and bom.training.approach:
            parameters["approach"] = {"type": bom.training.approach}
        for key, value in (
            ("task", card.task),
            ("architectureFamily", card.architecture_family),
            ("modelArchitecture", card.architecture),
        ):
            if value:
                parameters[key] = value
        if bom.datasets:
            parameters["datasets"] = [{"ref": dataset_ref(d.name)} for d in bom.datasets]
        result: Json = {}
        if parameters:
            result["modelParameters"] = parameters
        if card.metrics:
            metrics = []
            for metric in card.metrics:
                entry = {"type": metric.type, "value": metric.value}
                if metric.slice:
                    entry["slice"] = metric.slice
                metrics.append(entry)
            result["quantitativeAnalysis"] = {"performanceMetrics": metrics}
        considerations = self._considerations()
        if considerations:
            result["considerations"] = considerations
        props = [prop(f"{NS}:card:out-of-scope-use", text) for text in card.out_of_scope]
        if card.gated:
            props.append(prop(f"{NS}:card:gated", True))
            if card.gating_prompt:
                props.append(prop(f"{NS}:card:gating-prompt", card.gating_prompt))
        if props:
            result["properties"] = props
        if result:
            result = {"bom-ref": "model-card", **result}
        return result

    def _considerations(self) -> Json:
        card = self.bom.card
        result: Json = {}
        if card.use_cases:
            result["useCases"] = list(card.use_cases)
        if card.limitations:
            result["technicalLimitations"] = list(card.limitations)
        if card.ethical:
            result["ethicalConsiderations"] = [{"name": text} for text in card.ethical]
        environment: Json = {}
        energy = self.bom.training.energy if self.bom.training else ()
        if energy:
            environment["energyConsumptions"] = [
                {
                    "activity": e.activity,
                    "energyProviders": [
                        {
                            "organization": {"name": e.provider},
                            "energySource": e.energy_source,
                            "energyProvided": {"value": e.kwh, "unit": "kWh"},
                        }
                    ],
                    "activityEnergyCost": {"value": e.kwh, "unit": "kWh"},
                    **(
                        {"co2CostEquivalent": {"value": e.co2_tco2eq, "unit": "tCO2eq"}}
                        if e.co2_tco2eq is not None
                        else {}
                    ),
                }
                for e in energy
            ]
        emissions = card.emissions
        if emissions is not None:
            props = [prop(f"{NS}:co2:emissions-tco2eq", f"{emissions.tco2eq:.9g}")]
            for key, value in (
                ("source", emissions.source),
                ("training-type", emissions.training_type),
                ("geographical-location", emissions.geographical_location),
                ("hardware-used", emissions.hardware_used),
            ):
                if value:
                    props.append(prop(f"{NS}:co2:{key}", value))
            environment["properties"] = props
        if environment:
            result["environmentalConsiderations"] = environment
        return result

    # --- formulation ----------------------------------------------------------------------------

    def _formula(self) -> Json:
        components: list[Json] = []
        workflows: list[Json] = []
        training = self.bom.training
        if training is not None:
            if training.code_repository:
                components.append(self._training_code())
            workflows.append(self._training_workflow())
        evaluation = [d for d in self.bom.datasets if {"evaluation", "validation"} & set(d.roles)]
        if evaluation:
            workflows.append(_evaluation_workflow(evaluation))
        tools: dict[tuple[str, str], str] = {}
        for index, conversion in enumerate(self.bom.conversions, 1):
            key = (conversion.tool_name, conversion.tool_version)
            if key not in tools:
                tools[key] = f"tool:conversion:{len(tools) + 1}"
                components.append(
                    {
                        "bom-ref": tools[key],
                        "type": "application",
                        "name": key[0],
                        "version": key[1],
                    }
                )
            components.append(_conversion_source(conversion, with_ref=True, index=index))
            workflows.append(_conversion_workflow(index, conversion, tools[key]))
        if not workflows:
            return {}
        formula: Json = {"bom-ref": FORMULA_REF}
        if components:
            formula["components"] = components
        formula["workflows"] = workflows
        return formula

    def _training_code(self) -> Json:
        training = self.bom.training
        assert training is not None and training.code_repository
        component: Json = {
            "bom-ref": TRAINING_CODE_REF,
            "type": "application",
            "name": training.code_repository.rstrip("/").rsplit("/", 1)[-1] or "training code",
        }
        if training.code_commit:
            component["version"] = training.code_commit
        if training.code_licenses:
            component["licenses"] = [self._license(lic) for lic in training.code_licenses]
        component["externalReferences"] = [
            {
                "type": "vcs",
                "url": training.code_repository,
                **({"comment": f"commit {training.code_commit}"} if training.code_commit else {}),
            }
        ]
        return component

    def _training_workflow(self) -> Json:
        training = self.bom.training
        assert training is not None
        inputs: list[Json] = [
            {"resource": {"ref": dataset_ref(d.name)}}
            for d in self.bom.datasets
            if {"training", "fine-tuning"} & set(d.roles)
        ]
        inputs += [{"resource": {"ref": self.ancestor_ref(a)}} for a in self.bom.ancestors]
        if training.hyperparameters:
            inputs.append(
                {
                    "parameters": [
                        {"name": name, "value": value, "dataType": data_type}
                        for name, value, data_type in training.hyperparameters
                    ]
                }
            )
        workflow: Json = {
            "bom-ref": TRAINING_REF,
            "uid": "training",
            "name": "training",
            "taskTypes": ["build"],
        }
        if training.description:
            workflow["description"] = training.description
        if training.code_repository:
            workflow["resourceReferences"] = [{"ref": TRAINING_CODE_REF}]
        if inputs:
            workflow["inputs"] = inputs
        workflow["outputs"] = [{"type": "artifact", "resource": {"ref": MODEL_REF}}]
        if training.started:
            workflow["timeStart"] = as_date_time(training.started)
        if training.ended:
            workflow["timeEnd"] = as_date_time(training.ended, end=True)
        props = [prop(f"{NS}:workflow:activity", "training")]
        for key, value in (
            ("method", training.method),
            ("approach", training.approach),
            ("hardware", training.hardware),
        ):
            if value:
                props.append(prop(f"{NS}:training:{key}", value))
        workflow["properties"] = props
        return workflow


def _evaluation_workflow(datasets: Sequence[Dataset]) -> Json:
    return {
        "bom-ref": "workflow:evaluation",
        "uid": "evaluation",
        "name": "evaluation",
        "taskTypes": ["test"],
        "inputs": [{"resource": {"ref": MODEL_REF}}]
        + [{"resource": {"ref": dataset_ref(d.name)}} for d in datasets],
        "properties": [prop(f"{NS}:workflow:activity", "evaluation")],
    }


def _conversion_source(conversion: Conversion, *, with_ref: bool, index: int = 0) -> Json:
    component: Json = {"type": "file", "name": conversion.source_name}
    if with_ref:
        component = {"bom-ref": f"conversion-source:{index}", **component}
    component["hashes"] = [{"alg": "SHA-256", "content": conversion.source_sha256}]
    return component


def _conversion_workflow(index: int, conversion: Conversion, tool_ref: str) -> Json:
    step: Json = {"name": "convert"}
    if conversion.command:
        step["commands"] = [{"executed": conversion.command}]
    workflow: Json = {
        "bom-ref": f"workflow:conversion:{index}",
        "uid": f"conversion-{index}",
        "name": f"convert {conversion.source_name} to {conversion.output_name}",
        "resourceReferences": [{"ref": tool_ref}],
        "taskTypes": ["build"],
        "steps": [step],
        "inputs": [{"resource": {"ref": f"conversion-source:{index}"}}],
    }
    if conversion.status is not ConversionStatus.MISSING:
        workflow["outputs"] = [
            {"type": "artifact", "resource": {"ref": file_ref(conversion.output_name)}}
        ]
    if conversion.timestamp:
        workflow["timeEnd"] = conversion.timestamp
    workflow["properties"] = [
        prop(f"{NS}:workflow:activity", "conversion"),
        prop(f"{NS}:conversion:tool", f"{conversion.tool_name} {conversion.tool_version}"),
        prop(f"{NS}:conversion:output-sha256", conversion.output_sha256),
        prop(f"{NS}:conversion:status", conversion.status.value),
    ]
    return workflow


def _lineage_note(ancestor: Ancestor) -> str:
    relation = {
        "finetune": "fine-tuned from",
        "adapter": "adapter of",
        "quantized": "quantized from",
        "merge": "merged from",
    }.get(ancestor.relation or "", "derived from")
    return f"{relation} {ancestor.repo_id}" + (f"@{ancestor.revision}" if ancestor.revision else "")


def _license_finding_props(findings: Iterable[LicenseFinding]) -> Properties:
    return [
        prop(f"{NS}:license:finding:{f.rule}", f"{f.severity.value}: {f.message}") for f in findings
    ]


def as_date_time(value: str, *, end: bool = False) -> str:
    """A date (``2024-05-01``) as the date-time CycloneDX requires; date-times pass unchanged."""
    if "T" in value:
        return value
    return f"{value}T23:59:59Z" if end else f"{value}T00:00:00Z"
