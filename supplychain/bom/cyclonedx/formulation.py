"""``formulation``: how the model was made (training from the provenance file, evaluation from
model-index, format conversions), as CycloneDX formula workflows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from supplychain.bom.cyclonedx.common import (
    FORMULA_REF,
    MODEL_REF,
    NS,
    TRAINING_CODE_REF,
    TRAINING_REF,
    Json,
    as_date_time,
    dataset_ref,
    file_ref,
    license_json,
    prop,
)
from supplychain.bom.model import AiBom, Ancestor, Conversion, ConversionStatus, Dataset


def formula(bom: AiBom, ancestor_ref: Callable[[Ancestor], str]) -> Json:
    """The ``formulation`` formula: training, evaluation and conversion workflows."""
    components: list[Json] = []
    workflows: list[Json] = []
    training = bom.training
    if training is not None:
        if training.code_repository:
            components.append(_training_code(bom))
        workflows.append(_training_workflow(bom, ancestor_ref))
    evaluation = [d for d in bom.datasets if {"evaluation", "validation"} & set(d.roles)]
    if evaluation:
        workflows.append(_evaluation_workflow(evaluation))
    tools: dict[tuple[str, str], str] = {}
    for index, conversion in enumerate(bom.conversions, 1):
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
        components.append(conversion_source(conversion, with_ref=True, index=index))
        workflows.append(_conversion_workflow(index, conversion, tools[key]))
    if not workflows:
        return {}
    formula: Json = {"bom-ref": FORMULA_REF}
    if components:
        formula["components"] = components
    formula["workflows"] = workflows
    return formula


def _training_code(bom: AiBom) -> Json:
    training = bom.training
    assert training is not None and training.code_repository
    component: Json = {
        "bom-ref": TRAINING_CODE_REF,
        "type": "application",
        "name": training.code_repository.rstrip("/").rsplit("/", 1)[-1] or "training code",
    }
    if training.code_commit:
        component["version"] = training.code_commit
    if training.code_licenses:
        component["licenses"] = [license_json(lic) for lic in training.code_licenses]
    component["externalReferences"] = [
        {
            "type": "vcs",
            "url": training.code_repository,
            **({"comment": f"commit {training.code_commit}"} if training.code_commit else {}),
        }
    ]
    return component


def _training_workflow(bom: AiBom, ancestor_ref: Callable[[Ancestor], str]) -> Json:
    training = bom.training
    assert training is not None
    inputs: list[Json] = [
        {"resource": {"ref": dataset_ref(d.name)}}
        for d in bom.datasets
        if {"training", "fine-tuning"} & set(d.roles)
    ]
    inputs += [{"resource": {"ref": ancestor_ref(a)}} for a in bom.ancestors]
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


def conversion_source(conversion: Conversion, *, with_ref: bool, index: int = 0) -> Json:
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
