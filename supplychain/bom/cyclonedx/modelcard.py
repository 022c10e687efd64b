"""The ``modelCard`` of the model component (identical in CycloneDX 1.6 and 1.7)."""

from __future__ import annotations

from supplychain.bom.cyclonedx.common import NS, Json, dataset_ref, prop
from supplychain.bom.model import AiBom


def model_card(bom: AiBom) -> Json:
    """``modelCard``: parameters, metrics and considerations the card and provenance state."""
    card = bom.card
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
    considerations = _considerations(bom)
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


def _considerations(bom: AiBom) -> Json:
    card = bom.card
    result: Json = {}
    if card.use_cases:
        result["useCases"] = list(card.use_cases)
    if card.limitations:
        result["technicalLimitations"] = list(card.limitations)
    if card.ethical:
        result["ethicalConsiderations"] = [{"name": text} for text in card.ethical]
    environment: Json = {}
    energy = bom.training.energy if bom.training else ()
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
