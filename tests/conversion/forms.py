"""Every container form of issue 11, as files: Python-2 / old-torch reproductions and torch 2.13.

``FORMS`` maps a name to a :class:`Form`: how to write the file into a
directory, and the ``--key`` values to convert it with when it holds several
state dicts (``None``: convert without ``--key``). The Python-2 forms are
written opcode for opcode by :mod:`tests.conversion.py2pickle`; the modern
ones by ``torch.save`` (torch is a test dependency).
"""

from __future__ import annotations

import collections
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conversion import py2pickle as py2


@dataclass(frozen=True)
class Form:
    write: Callable[[Path], Path]
    #: The ``--key`` values to convert it with (None: no --key).
    keys: tuple[str | None, ...] = (None,)
    #: Why our outcome deliberately differs from torch's (None: it must not).
    differs: str | None = None


def _floats(count: int, start: float = 0.0) -> bytes:
    return struct.pack(f"<{count}f", *(start + i for i in range(count)))


# -- Python 2 + torch 0.1-0.4, legacy container ---------------------------------------------------
def _py2_state_dict(
    pickler: py2.Py2Pickler,
    rebuild: Callable[..., Any] = py2.tensor_v2,
    *,
    metadata: bool = True,
    pairs: type = list,
    prefix: str = "",
) -> py2.Reduce:
    weight = py2.Storage("FloatStorage", "94371234567168", _floats(6), 4)
    bias = py2.Storage("FloatStorage", "94371234590016", _floats(2, 10.0), 4)
    steps = py2.Storage("LongStorage", "94371234601234", struct.pack("<q", 7), 8)
    tied = rebuild(weight, 0, (2, 3), (3, 1))
    items = [
        (f"{prefix}fc.weight", tied),
        (f"{prefix}fc.bias", rebuild(bias, 0, (2,), (1,))),
        (f"{prefix}bn.num_batches_tracked", rebuild(steps, 0, (), ())),
        (f"{prefix}head.weight", tied),  # tied weights: the memo GETs the same tensor
        (f"{prefix}fc.row", rebuild(weight, 3, (3,), (1,))),  # a view into a shared storage
    ]
    meta = None
    if metadata:
        meta = py2.py2_ordered_dict(
            pickler,
            [("", {pickler.intern("version"): 1}), ("fc", {pickler.intern("version"): 1})],
        )
    return py2.py2_ordered_dict(pickler, items, meta, pairs=pairs)


def _py2_file(
    build: Callable[[py2.Py2Pickler], Any], memo_start: int = 0
) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        pickler = py2.Py2Pickler(memo_start=memo_start)
        path.write_bytes(py2.legacy_file(pickler, build(pickler)))
        return path

    return write


def _py2_imagenet(pickler: py2.Py2Pickler, *, optimizer_ids: bool) -> dict[Any, Any]:
    """pytorch/examples imagenet ``save_checkpoint`` under DataParallel, Python 2."""
    intern = pickler.intern
    params: list[Any] = [py2.Py2Int(140234567890123), py2.Py2Int(140234567890555)]
    optimizer = {
        intern("state"): {},
        intern("param_groups"): [
            {
                intern("lr"): 0.1,
                intern("momentum"): 0.9,
                intern("params"): params if optimizer_ids else [0, 1],
            }
        ],
    }
    return {
        intern("epoch"): 90,
        intern("arch"): intern("resnet18"),
        intern("state_dict"): _py2_state_dict(pickler, prefix="module."),
        intern("best_prec1"): 69.758,
        intern("optimizer"): optimizer,
    }


def _py2_storage_view(pickler: py2.Py2Pickler) -> py2.Reduce:
    """Two storages that are slices of one root storage (``view_metadata``)."""
    root = py2.Storage("FloatStorage", "94371234567168", _floats(8), 4)
    first = py2.StorageView(root, "94371234569999", 2, 4)
    second = py2.StorageView(root, "94371234571111", 5, 3)
    items = [
        ("a", py2.tensor_v2(first, 0, (2, 2), (2, 1))),
        ("b", py2.tensor_v2(second, 1, (2,), (1,))),
        ("whole", py2.tensor_v2(root, 0, (8,), (1,))),
    ]
    return py2.py2_ordered_dict(pickler, items)


def _py2_unicode_keys(pickler: py2.Py2Pickler) -> py2.Reduce:
    storage = py2.Storage("DoubleStorage", "1407", struct.pack("<3d", 1.5, 2.5, 3.5), 8)
    items = [("encoder.w\u00e9ight", py2.tensor_v2(storage, 0, (3,), (1,)))]
    # unicode keys are BINUNICODE, not str: build the pairs by hand
    return py2.Reduce(py2.ORDERED_DICT, ([[k, v] for k, v in items],))


def _py2_list(pickler: py2.Py2Pickler) -> list[Any]:
    storage = py2.Storage("HalfStorage", "77", struct.pack("<4e", 1, 2, 3, 4), 2)
    return [py2.tensor_v2(storage, 0, (2,), (1,)), py2.tensor_v2(storage, 2, (2,), (1,))]


def _py2_tensor_class(pickler: py2.Py2Pickler) -> py2.Reduce:
    return _py2_state_dict(pickler, py2.tensor_v0, metadata=False)


PY2_FORMS: dict[str, Form] = {
    "py2-torch0.4-ordereddict-pairs-metadata": Form(_py2_file(_py2_state_dict)),
    "py2-torch0.4-cpickle-memo": Form(_py2_file(_py2_state_dict, memo_start=1)),
    "py2-ordereddict-tuple-pairs": Form(_py2_file(lambda p: _py2_state_dict(p, pairs=tuple))),
    "py2-torch0.3-rebuild-tensor-v1": Form(
        _py2_file(lambda p: _py2_state_dict(p, py2.tensor_v1, metadata=False))
    ),
    "py2-torch0.1-tensor-class-build": Form(_py2_file(_py2_tensor_class)),
    "py2-imagenet-checkpoint-dataparallel": Form(
        _py2_file(lambda p: _py2_imagenet(p, optimizer_ids=False))
    ),
    "py2-imagenet-checkpoint-optimizer-ids": Form(
        _py2_file(lambda p: _py2_imagenet(p, optimizer_ids=True)),
        differs="torch's weights-only loader lacks the text INT opcode Python 2 wrote for "
        "64-bit ints (optimizer param ids); the state_dict is converted",
    ),
    "py2-unicode-keys": Form(_py2_file(_py2_unicode_keys)),
    "py2-torch0.4-storage-views": Form(_py2_file(_py2_storage_view)),
    "py2-list-of-tensors": Form(_py2_file(_py2_list)),
}


# -- torch 2.13 ---------------------------------------------------------------------------------
def _torch() -> Any:
    import torch

    return torch


def _module_state() -> Any:
    torch = _torch()
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten(), torch.nn.Linear(2, 3)
    )
    return model


def _saved(make: Callable[[], Any], *, legacy: bool, **kwargs: Any) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        _torch().save(make(), path, _use_new_zipfile_serialization=not legacy, **kwargs)
        return path

    return write


def _training_checkpoint() -> dict[str, Any]:
    torch = _torch()
    model = _module_state()
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.ones(2, 1, 3, 3)).sum().backward()
    optimizer.step()
    return {
        "epoch": 3,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": 0.25,
    }


def _with_ema() -> dict[str, Any]:
    model = _module_state()
    ema = {
        k: v.clone() * 0.5 if v.is_floating_point() else v for k, v in model.state_dict().items()
    }
    return {"model": model.state_dict(), "model_ema": ema, "epoch": 12, "arch": "tiny"}


def _dataparallel() -> Any:
    return _torch().nn.DataParallel(_module_state()).state_dict()


def _containers() -> dict[str, Any]:
    torch = _torch()
    base = torch.arange(12, dtype=torch.float32)
    return {
        "tuple": (base[:3], base.view(3, 4).t()),
        "list": [torch.ones(2, dtype=torch.bfloat16), [torch.zeros(1, dtype=torch.int8)]],
        "counter": collections.Counter({"c": torch.tensor([1, 2])}),
        "param": torch.nn.Parameter(torch.ones(2)),
    }


def _defaultdict() -> Any:
    return collections.defaultdict(list, {"w": _torch().ones(2)})


def _tensor_set() -> Any:
    torch = _torch()
    return {"members": {torch.ones(1), torch.zeros(1)}}


MODERN: dict[str, tuple[Callable[[], Any], tuple[str | None, ...], str | None]] = {
    "state-dict": (lambda: _module_state().state_dict(), (None,), None),
    "dict-of-tensors": (lambda: dict(_module_state().state_dict()), (None,), None),
    "tuple-of-tensors": (lambda: tuple(_module_state().state_dict().values()), (None,), None),
    "list-of-tensors": (lambda: list(_module_state().state_dict().values()), (None,), None),
    "nested-containers": (_containers, (None,), None),
    "training-checkpoint": (_training_checkpoint, (None, "optimizer_state_dict"), None),
    "model-and-ema": (_with_ema, ("model", "model_ema"), None),
    "dataparallel-prefix": (_dataparallel, (None,), None),
    "defaultdict": (_defaultdict, (None,), None),
    "set-of-tensors": (
        _tensor_set,
        (None,),
        "tensors in a set have no names: refused (exit 3) where torch reads a set",
    ),
}


def _modern_forms() -> dict[str, Form]:
    forms: dict[str, Form] = {}
    for name, (make, keys, differs) in MODERN.items():
        forms[f"torch2.13-zip-{name}"] = Form(_saved(make, legacy=False), keys, differs)
        forms[f"torch2.13-legacy-{name}"] = Form(_saved(make, legacy=True), keys, differs)
    forms["torch2.13-zip-protocol4"] = Form(
        _saved(lambda: _module_state().state_dict(), legacy=False, pickle_protocol=4),
        differs="protocol 4/5 pickles are read (torch's weights-only loader lacks FRAME)",
    )
    return forms


FORMS: dict[str, Form] = {**PY2_FORMS, **_modern_forms()}


def write_all(directory: Path) -> dict[str, Path]:
    """Write every form into ``directory`` (``<name>.pt``)."""
    return {name: form.write(directory / f"{name}.pt") for name, form in FORMS.items()}
