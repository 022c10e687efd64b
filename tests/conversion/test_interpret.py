"""Interpreting the inert pickle graph: which calls are tensors, which data, which foreign."""

from __future__ import annotations

from pathlib import Path

from supplychain.conversion.checkpoint import open_checkpoint
from supplychain.conversion.tree import Leaf, Mapping, TensorView, Unsupported
from tests.conversion.pickles import OD, Call, G, dumps, floats, tensor, torch_zip

PARAMETER = G("torch.nn.parameter", "Parameter")
FROM_TYPE = G("torch._tensor", "_rebuild_from_type_v2")
V2 = G("torch._utils", "_rebuild_tensor_v2")


def _root(tmp_path: Path, *items: tuple[str, object]) -> Mapping:
    source = torch_zip(tmp_path / "m.pt", dumps(OD(tuple(items))), {"0": floats(1, 2, 3, 4)})
    with open_checkpoint(source) as checkpoint:
        assert isinstance(checkpoint.root, Mapping)
        return checkpoint.root


def _plain_args() -> tuple[object, ...]:
    return tensor("0", 4, (4,), (1,)).args


def test_parameters_and_plain_retyping_are_tensors(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        (
            "p",
            Call(
                G("torch._utils", "_rebuild_parameter"), (tensor("0", 4, (4,), (1,)), True, OD(()))
            ),
        ),
        ("retyped", Call(FROM_TYPE, (V2, PARAMETER, _plain_args(), {}))),
        ("subclass", Call(FROM_TYPE, (V2, G("my", "Tensor"), _plain_args(), {}))),
        ("odd_func", Call(FROM_TYPE, (G("my", "make"), PARAMETER, _plain_args(), {}))),
    )
    assert isinstance(root.get("p"), TensorView)
    assert isinstance(root.get("retyped"), TensorView)
    subclass, odd = root.get("subclass"), root.get("odd_func")
    assert isinstance(subclass, Unsupported) and "my.Tensor" in subclass.reason
    assert isinstance(odd, Unsupported) and "my.make" in odd.reason


def test_tensor_metadata_conj_neg_and_unknown_keys(tmp_path: Path) -> None:
    def with_metadata(metadata: object) -> Call:
        return Call(V2, (*_plain_args(), metadata))

    root = _root(
        tmp_path, ("neg", with_metadata({"neg": True})), ("odd", with_metadata({"sparse": True}))
    )
    neg, odd = root.get("neg"), root.get("odd")
    assert isinstance(neg, TensorView) and neg.neg and not neg.conj
    assert isinstance(odd, Unsupported) and "sparse" in odd.reason


def test_v3_dtype_must_be_a_torch_dtype(tmp_path: Path) -> None:
    v3 = G("torch._utils", "_rebuild_tensor_v3")
    pid, offset, size, stride, grad, hooks = tensor(
        "0", 16, (4,), (1,), storage="UntypedStorage"
    ).args
    root = _root(
        tmp_path,
        ("f8", Call(v3, (pid, offset, size, stride, grad, hooks, G("torch", "float8_e5m2")))),
        ("evil", Call(v3, (pid, offset, size, stride, grad, hooks, G("os", "x")))),
        ("bits", Call(v3, (pid, offset, size, stride, grad, hooks, G("torch", "bits8")))),
    )
    f8 = root.get("f8")
    assert isinstance(f8, TensorView) and f8.dtype.code == "F8_E5M2"
    assert isinstance(root.get("evil"), Unsupported)
    bits = root.get("bits")
    assert isinstance(bits, Unsupported) and "bits" in bits.reason


def test_data_helpers_and_foreign_objects(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        ("size", Call(G("torch", "Size"), ((2, 3),))),
        ("dtype", G("torch", "float16")),
        ("counter", Call(G("collections", "Counter"), ({"a": 1},))),
        ("config", Call(G("my_project", "Config"), (), {"lr": 0.1})),
        ("holder", Call(G("my_project", "Holder"), (tensor("0", 4, (4,), (1,)),))),
        ("function", G("my_project", "activation")),
    )
    size = root.get("size")
    assert isinstance(size, Leaf) and size.type_name == "torch.Size" and not size.foreign
    dtype = root.get("dtype")
    assert isinstance(dtype, Leaf) and dtype.type_name == "torch.dtype" and not dtype.foreign
    counter = root.get("counter")
    assert isinstance(counter, Mapping) and counter.items[0][0] == "a"
    config, holder, function = root.get("config"), root.get("holder"), root.get("function")
    assert isinstance(config, Leaf) and config.foreign and config.tensors_inside == 0
    assert isinstance(holder, Leaf) and holder.foreign and holder.tensors_inside == 1
    assert isinstance(function, Leaf) and function.foreign


def test_shared_nodes_stay_shared(tmp_path: Path) -> None:
    source = torch_zip(
        tmp_path / "m.pt",
        b"\x80\x02}(X\x01\x00\x00\x00a"
        + dumps(tensor("0", 4, (4,), (1,)))[2:-1]
        + b"q\x00X\x01\x00\x00\x00bh\x00u.",
        {"0": floats(1, 2, 3, 4)},
    )
    with open_checkpoint(source) as checkpoint:
        root = checkpoint.root
        assert isinstance(root, Mapping)
        assert root.get("a") is root.get("b")
