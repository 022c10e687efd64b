"""The shared SARIF writer produces what GitHub code scanning expects."""

from __future__ import annotations

from supplychain.output.sarif import SarifResult, SarifRule, document, level


def test_document_shape() -> None:
    log = document(
        tool="supplychain",
        version="1.0",
        information_uri="https://example.invalid",
        rules=[
            SarifRule("a.rule", "A rule", severity="critical"),
            SarifRule("b", "B", severity="medium"),
        ],
        results=[
            SarifResult("b", "medium", "found", "dir/file.bin", 12, {"symbol": "x.y"}),
            SarifResult("unknown.rule", "info", "note", "f"),
        ],
        notifications=["could not scan f"],
    )
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["a.rule", "b"]
    assert rules[0]["properties"]["security-severity"] == "9.5"
    assert rules[0]["defaultConfiguration"]["level"] == "error"
    first, second = run["results"]
    assert first["ruleIndex"] == 1 and first["level"] == "warning"
    assert first["locations"][0]["physicalLocation"]["region"] == {"byteOffset": 12}
    assert first["properties"] == {"severity": "medium", "symbol": "x.y"}
    assert "ruleIndex" not in second and second["level"] == "note"
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes == [{"level": "error", "message": {"text": "could not scan f"}}]


def test_levels() -> None:
    assert [level(s) for s in ("critical", "high", "medium", "info")] == [
        "error",
        "error",
        "warning",
        "note",
    ]
