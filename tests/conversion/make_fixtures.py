"""Generate the committed conversion fixtures and the demo's example checkpoint (needs torch).

    python tests/conversion/make_fixtures.py

Writes tests/conversion/fixtures/ (small torch checkpoints of every kind the
converter handles, plus expected.json: for each fixture the tensors it must
produce, computed here from the in-memory tensors, independently of both
torch.load and the converter) and supplychain/demo/checkpoint/pytorch_model.bin.
Everything is seeded, so re-running reproduces the same tensors (and the same bytes, except
legacy.pt, whose storage keys are memory addresses).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = HERE / "fixtures"
DEMO_CHECKPOINT = REPO / "supplychain" / "demo" / "checkpoint" / "pytorch_model.bin"

sys.path.insert(0, str(REPO))

from tests.conversion import checkpoints  # noqa: E402


def tensors_of(torch: Any, state: dict[str, Any], aliases: dict[str, str]) -> dict[str, Any]:
    return {
        name: checkpoints.expected(torch, tensor)
        for name, tensor in state.items()
        if name not in aliases
    }


def main() -> None:
    import numpy as np
    import torch

    if FIXTURES.exists():
        shutil.rmtree(FIXTURES)
    FIXTURES.mkdir(parents=True)
    expected: dict[str, Any] = {}

    dtypes = checkpoints.dtype_tensors(torch)
    torch.save(dtypes, FIXTURES / "dtypes.pt")
    expected["dtypes.pt"] = {"tensors": tensors_of(torch, dtypes, {}), "aliases": {}}

    views = checkpoints.view_tensors(torch)
    view_aliases = {"tied_a": "base", "tied_b": "base", "weight_tied": "weight"}
    torch.save(views, FIXTURES / "views.pt")
    expected["views.pt"] = {
        "tensors": tensors_of(torch, views, view_aliases),
        "aliases": view_aliases,
    }

    legacy = {
        name: dtypes[name]
        for name in ("f32", "bf16", "c64", "u16", "u64", "float8_e4m3fn", "float8_e5m2")
    }
    legacy["rows"] = views["rows"]
    legacy["transposed"] = views["transposed"]
    torch.save(legacy, FIXTURES / "legacy.pt", _use_new_zipfile_serialization=False)
    expected["legacy.pt"] = {"tensors": tensors_of(torch, legacy, {}), "aliases": {}}

    protocol5 = {name: views[name] for name in ("base", "transposed", "conj", "tied_a")}
    torch.save(protocol5, FIXTURES / "protocol5.pt", pickle_protocol=5)
    expected["protocol5.pt"] = {
        "tensors": tensors_of(torch, protocol5, {"tied_a": "base"}),
        "aliases": {"tied_a": "base"},
    }

    seeded = torch.Generator().manual_seed(1)
    model_state = {
        "model.layer.weight": torch.randn(3, 2, generator=seeded),
        "model.layer.bias": torch.zeros(3),
    }
    torch.save(checkpoints.lightning_checkpoint(torch, model_state), FIXTURES / "lightning.ckpt")
    expected["lightning.ckpt"] = {"tensors": tensors_of(torch, model_state, {}), "aliases": {}}

    big = {
        name: dtypes[name]
        for name in ("f64", "f32", "bf16", "i32", "i16", "c64", "bool", "u16", "u32")
    }
    little = FIXTURES / "little.tmp"
    torch.save(big, little)
    checkpoints.big_endian_copy(
        little, FIXTURES / "bigendian.pt", checkpoints.swap_units(torch, big)
    )
    little.unlink()
    expected["bigendian.pt"] = {"tensors": tensors_of(torch, big, {}), "aliases": {}}

    nested = {
        "model": {
            "encoder": {"weight": torch.arange(6.0).view(2, 3)},
            "head": [torch.ones(2), torch.zeros(1, dtype=torch.int64)],
        },
        "ema": {"encoder.weight": torch.full((2, 3), 0.5)},
        "optimizer": {
            "state": {0: {"exp_avg": torch.zeros(2, 3)}},
            "param_groups": [{"lr": 0.1, "params": [0]}],
        },
        "step": 10,
        "extra": {
            "table": np.arange(6, dtype=np.int16).reshape(2, 3),
            "big_endian": np.arange(4, dtype=">f8"),
        },
    }
    torch.save(nested, FIXTURES / "nested.pt")
    model, extra = nested["model"], nested["extra"]
    nested_tensors = {
        "model.encoder.weight": model["encoder"]["weight"],
        "model.head.0": model["head"][0],
        "model.head.1": model["head"][1],
        "ema.encoder.weight": nested["ema"]["encoder.weight"],
        "extra.table": torch.from_numpy(extra["table"]),
        "extra.big_endian": torch.from_numpy(extra["big_endian"].astype("<f8")),
    }
    expected["nested.pt"] = {
        "tensors": {k: checkpoints.expected(torch, v) for k, v in nested_tensors.items()},
        "aliases": {},
    }

    fortran = np.asfortranarray(np.arange(12, dtype=">f4").reshape(3, 4))
    np.save(FIXTURES / "fortran.npy", fortran)
    expected["fortran.npy"] = {
        "tensors": {
            "fortran": checkpoints.expected(
                torch, torch.from_numpy(np.ascontiguousarray(fortran).astype("<f4"))
            )
        },
        "aliases": {},
    }
    arrays = {
        "weight": np.linspace(-1, 1, 10, dtype=np.float32).reshape(2, 5),
        "ids": np.arange(4, dtype=np.int64),
        "mask": np.array([True, False]),
    }
    np.savez_compressed(FIXTURES / "arrays.npz", **arrays)
    expected["arrays.npz"] = {
        "tensors": {k: checkpoints.expected(torch, torch.from_numpy(v)) for k, v in arrays.items()},
        "aliases": {},
    }

    sharded = FIXTURES / "sharded"
    sharded.mkdir()
    gen = torch.Generator().manual_seed(7)
    embed = torch.randn(4, 3, generator=gen)
    shard1 = {"embed.weight": embed, "lm_head.weight": embed}
    shard2 = {"layer.weight": torch.randn(3, 3, generator=gen), "layer.bias": torch.zeros(3)}
    torch.save(shard1, sharded / "pytorch_model-00001-of-00002.bin")
    torch.save(shard2, sharded / "pytorch_model-00002-of-00002.bin")
    weight_map = {name: "pytorch_model-00001-of-00002.bin" for name in shard1}
    weight_map.update({name: "pytorch_model-00002-of-00002.bin" for name in shard2})
    (sharded / "pytorch_model.bin.index.json").write_text(
        json.dumps({"metadata": {"total_size": 96}, "weight_map": weight_map}, indent=2) + "\n"
    )
    expected["sharded"] = {
        "tensors": {
            **tensors_of(torch, shard1, {"lm_head.weight": "embed.weight"}),
            **tensors_of(torch, shard2, {}),
        },
        "aliases": {"lm_head.weight": "embed.weight"},
    }

    (FIXTURES / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    write_demo_checkpoint(torch)
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    print(
        f"wrote {FIXTURES} ({total} bytes) and {DEMO_CHECKPOINT} "
        f"({DEMO_CHECKPOINT.stat().st_size} bytes)"
    )


def write_demo_checkpoint(torch: Any) -> None:
    """The demo model's weights as a torch.save'd state_dict, with a tied output projection."""
    torch.manual_seed(20261122)

    class TinySentiment(torch.nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = torch.nn.Embedding(32, 16)
            self.classifier = torch.nn.Linear(16, 2)
            self.decoder = torch.nn.Linear(16, 32, bias=False)
            self.decoder.weight = self.embeddings.weight  # tied, as language-model heads are

    torch.save(TinySentiment().state_dict(), DEMO_CHECKPOINT)


if __name__ == "__main__":
    main()
