"""The allowlist table: exact names, tiers, and nothing allowlisted that can run code."""

from __future__ import annotations

import json
from importlib import resources

import pytest

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


def test_torchscript_helpers_are_data_but_torch_jit_is_not() -> None:
    for helper in ("build_intlist", "build_tensorlist", "build_tensor_from_id", "restore_type_tag"):
        assert grade("torch.jit._pickle", helper) is Severity.INFO, helper
    assert grade("torch.jit._pickle", "unknown_helper") is Severity.CRITICAL
    assert grade("torch.jit", "load") is Severity.CRITICAL
    assert grade("torch.jit._serialization", "load") is Severity.CRITICAL


def test_torchscript_classes_are_graded_by_namespace() -> None:
    assert grade("__torch__.torch.nn.modules.linear", "Linear") is Severity.MEDIUM
    assert grade("__torch__.vad.model.___torch_mangle_3", "VADRNNJIT") is Severity.MEDIUM
    # custom C++ classes run native __setstate__ code: not on the safe list
    assert grade("__torch__.torch.classes.quantized", "LinearPackedParamsBase") is Severity.HIGH
    # the namespace never hides a gadget or a dunder, nor matches a look-alike module
    assert grade("__torch__.x", "__reduce_ex__") is Severity.CRITICAL
    assert grade("__torch___evil", "Thing") is Severity.HIGH
    assert grade("__torch__", "os.system", dotted=True) is Severity.CRITICAL


def test_numpy_scalars_and_array_subclasses_are_data() -> None:
    for scalar in ("float64", "int64", "bool", "str_", "void", "datetime64", "longdouble"):
        assert grade("numpy", scalar) is Severity.INFO, scalar
    assert grade("numpy.matrixlib.defmatrix", "matrix") is Severity.INFO
    assert grade("numpy", "load") is Severity.CRITICAL
    assert grade("numpy.lib.npyio", "NpzFile") is Severity.CRITICAL


def test_sibling_estimators_get_one_rating() -> None:
    siblings = [
        ("sklearn.feature_extraction.text", "CountVectorizer"),
        ("sklearn.feature_extraction.text", "TfidfVectorizer"),
        ("sklearn.feature_extraction.text", "TfidfTransformer"),
        ("sklearn.svm._classes", "SVC"),
        ("sklearn.svm._classes", "LinearSVC"),
        ("sklearn._loss.loss", "HalfBinomialLoss"),
        ("sklearn._loss._loss", "CyHalfBinomialLoss"),
    ]
    assert {grade(module, name) for module, name in siblings} == {Severity.MEDIUM}
    # skops leaves it out: crafted node arrays crash the process
    assert grade("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor") is (
        Severity.HIGH
    )


def test_every_installed_scikit_learn_estimator_is_listed() -> None:
    utils = pytest.importorskip("sklearn.utils")
    unlisted = [
        f"{cls.__module__}.{cls.__qualname__}"
        for _, cls in utils.all_estimators()
        if grade(cls.__module__, cls.__qualname__) is not Severity.MEDIUM
    ]
    assert unlisted == [], "review these estimators into globals.json 'medium'"
