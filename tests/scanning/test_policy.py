"""The allowlist table: exact names, tiers, and nothing allowlisted that can run code."""

from __future__ import annotations

import json
from importlib import resources

from supplychain.picklevm import Global
from supplychain.scanning.policy import builtin_policy
from supplychain.scanning.results import Severity


def grade(module: str | None, name: str | None, *, dotted: bool = False) -> Severity:
    node = Global(
        module,
        name,
        offset=0,
        opcode="GLOBAL",
        dotted=dotted,
        unresolved=None if module else "computed",
    )
    return builtin_policy().grade(node).severity


def test_tiers() -> None:
    assert grade("torch._utils", "_rebuild_tensor_v2") is Severity.INFO
    assert grade("collections", "OrderedDict") is Severity.INFO
    assert grade("torch.nn.modules.linear", "Linear") is Severity.MEDIUM
    assert grade("datetime", "datetime") is Severity.MEDIUM
    assert grade("posix", "system") is Severity.CRITICAL
    assert grade("builtins", "eval") is Severity.CRITICAL
    assert grade("torch._inductor.codecache", "compile_file") is Severity.CRITICAL
    assert grade("asyncio.unix_events", "_UnixSubprocessTransport") is Severity.CRITICAL
    assert grade("mypkg", "Thing") is Severity.HIGH
    assert grade(None, None) is Severity.CRITICAL


def test_namespaces_are_never_allowlisted() -> None:
    assert grade("torch", "_utils") is Severity.HIGH  # the module itself is not a safe global
    assert grade("torch.nn.modules.linear", "Unknown") is Severity.HIGH
    assert grade("torch", "_utils._rebuild_tensor_v2", dotted=True) is Severity.HIGH


def test_dotted_walks_through_dangerous_modules_are_critical() -> None:
    assert grade("pathlib", "os.system", dotted=True) is Severity.CRITICAL
    assert grade("torch", "os.system", dotted=True) is Severity.CRITICAL
    assert grade("collections", "__builtins__.eval", dotted=True) is Severity.CRITICAL


def test_the_table_is_exact_and_disjoint() -> None:
    raw = json.loads(
        resources.files("supplychain.scanning").joinpath("data/globals.json").read_text()
    )
    policy = builtin_policy()
    for tier in ("info", "medium"):
        for key in raw[tier]:
            assert "*" not in key and "." in key, key
            module, _, name = key.rpartition(".")
            # a safe entry must not be a known gadget (only exact overrides of a module prefix)
            assert (module, name) not in policy.critical_names, key
    assert not set(raw["info"]) & set(raw["medium"])
