"""Checkpoint builders shared by the torch tests and the fixture generator (they need torch)."""

from __future__ import annotations

import collections
import struct
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

import blake3

#: torch dtype name -> safetensors code, as the reference writer names them.
CODES = {
    "float64": "F64",
    "float32": "F32",
    "float16": "F16",
    "bfloat16": "BF16",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint64": "U64",
    "uint32": "U32",
    "uint16": "U16",
    "uint8": "U8",
    "bool": "BOOL",
    "complex64": "C64",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
    "float8_e4m3fnuz": "F8_E4M3FNUZ",
    "float8_e5m2fnuz": "F8_E5M2FNUZ",
    "float8_e8m0fnu": "F8_E8M0",
    "float4_e2m1fn_x2": "F4",
}
#: Dtypes torch.save writes with _rebuild_tensor_v3 (and does not byte-swap when loading).
V3_DTYPES = {
    "uint16",
    "uint32",
    "uint64",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "float4_e2m1fn_x2",
}


def raw_bytes(torch: Any, tensor: Any) -> bytes:
    """The tensor's values as safetensors stores them: row-major, little-endian, conj/neg done."""
    tensor = tensor.detach().resolve_conj().resolve_neg().contiguous()
    return tensor.reshape(-1).view(torch.uint8).numpy().tobytes()


def expected(torch: Any, tensor: Any) -> dict[str, Any]:
    name = str(tensor.dtype).replace("torch.", "")
    shape = list(tensor.shape)
    if name == "float4_e2m1fn_x2":
        shape[-1] *= 2
    return {
        "dtype": CODES[name],
        "shape": shape,
        "blake3": blake3.blake3(raw_bytes(torch, tensor)).hexdigest(),
    }


def dtype_tensors(torch: Any) -> dict[str, Any]:
    """One small tensor of every dtype safetensors can hold."""
    gen = torch.Generator().manual_seed(5)
    values = torch.randn(2, 3, generator=gen) * 4
    ints = torch.tensor([[0, 1, -2], [127, -128, 42]])
    state: dict[str, Any] = {
        "f64": values.double(),
        "f32": values.clone(),
        "f16": values.half(),
        "bf16": values.bfloat16(),
        "i64": ints.clone() * 10**12,
        "i32": ints.int() * 10**6,
        "i16": ints.short() * 200,
        "i8": ints.to(torch.int8),
        "u8": ints.abs().to(torch.uint8),
        "bool": ints > 0,
        "c64": torch.complex(values, -values),
        "u16": torch.tensor([[0, 1, 65535], [256, 513, 40000]], dtype=torch.uint16),
        "u32": torch.tensor([0, 1, 2**32 - 1], dtype=torch.uint32),
        "u64": torch.tensor([0, 2**63 + 5, 2**64 - 1], dtype=torch.uint64),
    }
    for name in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"):
        state[name] = values.to(getattr(torch, name))
    state["float8_e8m0fnu"] = torch.tensor([0, 1, 127, 200], dtype=torch.uint8).view(
        torch.float8_e8m0fnu
    )
    state["float4_e2m1fn_x2"] = torch.tensor([[0x12, 0x34], [0xAB, 0xFF]], dtype=torch.uint8).view(
        torch.float4_e2m1fn_x2
    )
    return state


def view_tensors(torch: Any) -> dict[str, Any]:
    """Views, offsets, strides, stride 0, scalars, empty tensors, conj/neg bits, tied weights."""
    base = torch.arange(24, dtype=torch.float32)
    matrix = base.view(4, 6)
    complex_values = torch.complex(torch.arange(4.0), torch.arange(4.0) - 1.5)
    state: dict[str, Any] = collections.OrderedDict()
    state["base"] = base
    state["rows"] = matrix[1:3]  # offset 6, contiguous
    state["transposed"] = matrix.t()  # non-contiguous
    state["strided"] = base[::3]  # gaps
    state["column"] = matrix[:, 2]  # offset + stride
    state["expanded"] = torch.tensor([7.0]).expand(3, 4)  # stride 0
    state["channels_last"] = (
        torch.arange(2 * 3 * 2 * 2, dtype=torch.int16)
        .view(2, 3, 2, 2)
        .contiguous(memory_format=torch.channels_last)
    )
    state["scalar"] = torch.tensor(3.25)
    state["empty"] = torch.zeros(0, 5)
    state["empty_view"] = matrix[2:2]
    state["conj"] = complex_values.conj()
    state["neg"] = torch._neg_view(torch.tensor([1.0, -2.0, 0.0, float("inf")]))
    state["neg_int"] = torch._neg_view(torch.tensor([1, -2, 3], dtype=torch.int32))
    state["conj_imag"] = torch.complex(torch.ones(3), torch.arange(3.0)).conj().imag  # neg view
    state["tied_a"] = base  # the same tensor under three names
    state["tied_b"] = base
    state["weight"] = torch.nn.Parameter(torch.ones(2, 2))
    state["weight_tied"] = state["weight"]
    sliced = torch.arange(100.0)[10:20]  # a saved slice stores all 100 elements
    state["slice"] = sliced
    return state


def lightning_checkpoint(torch: Any, state_dict: dict[str, Any], *, custom: bool = False) -> dict:
    """A Lightning-style checkpoint with hyper-parameters of (fake) Lightning classes."""
    parsing = _fake_module("pytorch_lightning.utilities.parsing")

    class AttributeDict(dict):  # type: ignore[type-arg]
        pass

    AttributeDict.__module__ = parsing.__name__
    AttributeDict.__qualname__ = "AttributeDict"
    parsing.AttributeDict = AttributeDict  # type: ignore[attr-defined]
    import argparse

    hparams = AttributeDict(lr=0.001, layers=2, args=argparse.Namespace(seed=1, name="run"))
    checkpoint: dict[str, Any] = {
        "epoch": 3,
        "global_step": 1200,
        "pytorch-lightning_version": "2.4.0",
        "state_dict": state_dict,
        "loops": {"fit_loop": {"epoch_progress": {"total": {"completed": 3}}}},
        "callbacks": {
            "ModelCheckpoint{'monitor': 'val_loss'}": {"best_model_score": torch.tensor(0.25)}
        },
        "optimizer_states": [
            {
                "state": {0: {"step": torch.tensor(5.0), "exp_avg": torch.zeros(2, 2)}},
                "param_groups": [{"lr": 0.001, "params": [0]}],
            }
        ],
        "lr_schedulers": [],
        "hparams_name": "kwargs",
        "hyper_parameters": hparams,
    }
    if custom:
        config = _fake_module("my_project.config")

        class TrainConfig:
            def __init__(self) -> None:
                self.batch_size = 32

        TrainConfig.__module__ = config.__name__
        TrainConfig.__qualname__ = "TrainConfig"
        config.TrainConfig = TrainConfig  # type: ignore[attr-defined]
        checkpoint["hyper_parameters"]["config"] = TrainConfig()
    return checkpoint


def _fake_module(name: str) -> types.ModuleType:
    parts = name.split(".")
    for index in range(1, len(parts) + 1):
        partial = ".".join(parts[:index])
        if partial not in sys.modules:
            sys.modules[partial] = types.ModuleType(partial)
    return sys.modules[name]


def big_endian_copy(source: Path, target: Path, element_sizes: dict[str, int]) -> None:
    """Rewrite a little-endian torch zip as a big-endian one (what a big-endian host writes).

    ``element_sizes`` maps storage key -> byte-swap unit (1 for byte types, 4 for complex64).
    """
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for info in archive.infolist():
            data = archive.read(info)
            name = info.filename
            if name.endswith("/byteorder"):
                data = b"big"
            elif "/data/" in name and not name.endswith(".pkl"):
                unit = element_sizes[name.rsplit("/", 1)[1]]
                if unit > 1:
                    count = len(data) // unit
                    code = {2: "H", 4: "I", 8: "Q"}[unit]
                    data = struct.pack(f">{count}{code}", *struct.unpack(f"<{count}{code}", data))
            out.writestr(zipfile.ZipInfo(name), data)


def swap_units(torch: Any, state: dict[str, Any]) -> dict[str, int]:
    """Storage key -> byte-swap unit for a state dict whose tensors each own one storage.

    torch numbers storages "0", "1"... in the order it first meets them while pickling.
    """
    units = {}
    for index, tensor in enumerate(state.values()):
        unit = tensor.element_size()
        if tensor.is_complex():
            unit //= 2
        units[str(index)] = unit
    return units
