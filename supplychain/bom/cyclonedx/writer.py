"""The CycloneDX document: metadata, the model with its files and lineage, data, libraries,
dependencies and findings; the model card and formulation come from their own modules."""

from __future__ import annotations

from supplychain._version import __version__
from supplychain.bom.cyclonedx.common import (
    HOMEPAGE,
    MODEL_REF,
    NS,
    TOOL_REF,
    Json,
    Properties,
    dataset_ref,
    file_ref,
    iri,
    library_ref,
    license_finding_props,
    license_json,
    lineage_note,
    prop,
)
from supplychain.bom.cyclonedx.formulation import conversion_source
from supplychain.bom.cyclonedx.formulation import formula as formula_json
from supplychain.bom.cyclonedx.modelcard import model_card
from supplychain.bom.model import AiBom, Ancestor, Dataset, Finding, Library, ModelFileFacts


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
        formula = formula_json(self.bom, self.ancestor_ref)
        if formula:
            document["formulation"] = [formula]
        if self.spec_version != "1.6":
            from supplychain.bom.cyclonedx.citations import citations  # 1.7 only

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
            model["licenses"] = [license_json(lic) for lic in bom.licenses]
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
                "notes": "; ".join(lineage_note(a) for a in bom.ancestors),
            }
        card = model_card(self.bom)
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
        props += license_finding_props(f for f in bom.license_findings if f.subject_kind == "model")
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
                "ancestors": [conversion_source(c, with_ref=False) for c in sources],
                "notes": "; ".join(
                    f"converted from {c.source_name} by {c.tool_name} {c.tool_version}"
                    for c in sources
                ),
            }
        return component

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
            component["licenses"] = [license_json(lic) for lic in ancestor.licenses]
        component["purl"] = ancestor.purl
        component["externalReferences"] = [
            {"type": "website", "url": f"https://huggingface.co/{ancestor.repo_id}"}
        ]
        props = []
        if ancestor.relation:
            props.append(prop(f"{NS}:lineage:relation", ancestor.relation))
        props.append(prop(f"{NS}:lineage:source", ancestor.source))
        props += license_finding_props(
            f
            for f in self.bom.license_findings
            if f.subject_kind == "ancestor" and f.subject == ancestor.repo_id
        )
        component["properties"] = props
        if ancestor.ancestors:
            component["pedigree"] = {
                "ancestors": [self._ancestor(a) for a in ancestor.ancestors],
                "notes": "; ".join(lineage_note(a) for a in ancestor.ancestors),
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
            component["licenses"] = [license_json(lic) for lic in dataset.licenses]
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
        props += license_finding_props(
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
