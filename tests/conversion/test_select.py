"""Selection and flattening: state_dict unwrapping, --key, names, what is left out and why."""

from __future__ import annotations

import pytest

from supplychain.conversion.dtypes import BY_CODE
from supplychain.conversion.errors import UnsafeCheckpointError, UnsupportedContentError
from supplychain.conversion.select import select
from supplychain.conversion.tree import Leaf, Mapping, Sequence, TensorView, Unsupported
from supplychain.errors import InputError


def t(storage: str = "0") -> TensorView:
    return TensorView(storage, BY_CODE["F32"], 0, (1,), (1,))


def m(*items: tuple[object, object], attributes: tuple[tuple[str, object], ...] = ()) -> Mapping:
    return Mapping("dict", list(items), list(attributes))  # type: ignore[arg-type]


def names(selection: object) -> list[str]:
    return [e.name for e in selection.tensors]  # type: ignore[attr-defined]


def test_nested_dicts_and_lists_flatten_with_dots() -> None:
    root = m(
        ("encoder", m(("layers", Sequence("list", [m(("w", t())), m(("w", t("1")))])))), (3, t("2"))
    )
    selection = select(root)
    assert names(selection) == ["encoder.layers.0.w", "encoder.layers.1.w", "3"]
    assert [e.path for e in selection.tensors][1] == ("encoder", "layers", 1, "w")


def test_state_dict_is_unwrapped_and_siblings_listed() -> None:
    root = m(
        ("epoch", Leaf("int")),
        ("state_dict", m(("w", t()))),
        attributes=(("_metadata", Leaf("dict")),),
    )
    selection = select(root)
    assert selection.root_path == ("state_dict",) and names(selection) == ["w"]
    assert [(s.path, s.reason) for s in selection.skipped] == [
        ("epoch", "outside the exported 'state_dict'"),
        ("[attribute _metadata]", "an attribute of the container, not an item"),
    ]


def test_key_follows_dotted_paths_whose_keys_contain_dots() -> None:
    root = m(("model.ema", m(("decoder", m(("w", t()))))))
    selection = select(root, key="model.ema.decoder")
    assert selection.root_path == ("model.ema", "decoder") and names(selection) == ["w"]
    with pytest.raises(InputError, match=r"model\.ema has no key 'encoder'") as missing:
        select(root, key="model.ema.encoder")
    assert "'decoder'" in (missing.value.hint or "")


def test_optimizer_states_are_left_out_unless_selected() -> None:
    optimizer = m(("state", m((0, m(("exp_avg", t()))))), ("param_groups", Sequence("list")))
    root = m(("model", m(("w", t("1")))), ("optimizer", optimizer))
    selection = select(root)
    assert names(selection) == ["w"] and selection.key == "model"
    assert selection.skipped[0].path == "optimizer"
    assert names(select(root, key="optimizer")) == ["state.0.exp_avg"]


def test_foreign_objects_without_tensors_are_listed_with_tensors_they_block() -> None:
    harmless = m(("w", t()), ("args", Leaf("argparse.Namespace", foreign=True)))
    selection = select(harmless)
    assert selection.skipped[0].reason == "an object of a class this tool does not interpret"
    holding = m(("w", t()), ("layer", Leaf("my.Layer", foreign=True, tensors_inside=2)))
    with pytest.raises(UnsafeCheckpointError, match=r"my\.Layer holding 2 tensor"):
        select(holding)
    dropped = select(holding, drop_objects=True)
    assert names(dropped) == ["w"] and "dropped" in dropped.skipped[0].reason


def test_unsupported_tensors_are_all_named() -> None:
    root = m(
        ("q", Unsupported("quantized tensor", "quantized tensor (x)")),
        ("s", Unsupported("sparse tensor", "sparse tensor (y)")),
        ("w", t()),
    )
    with pytest.raises(UnsupportedContentError, match=r"2 tensor\(s\).*q: quantized.*s: sparse"):
        select(root)


def test_collisions_and_reserved_names() -> None:
    with pytest.raises(UnsupportedContentError, match=r"\['a.b'\] and \['a'\]\['b'\]"):
        select(m(("a.b", t()), ("a", m(("b", t("1"))))))
    with pytest.raises(UnsupportedContentError, match="__metadata__"):
        select(m(("__metadata__", t())))
    with pytest.raises(UnsupportedContentError, match="key of type tuple"):
        select(m(((1, 2), t())))
    assert select(m(((1, 2), Leaf("int")), ("w", t()))).skipped[0].reason == "not a tensor"


def test_a_bare_tensor_is_named_after_its_file() -> None:
    selection = select(t(), bare_name="embedding")
    assert names(selection) == ["embedding"] and selection.tensors[0].path == ()


@pytest.mark.parametrize("index", ["²", "٣", "1" * 40])
def test_key_indexes_are_ascii_digits(index: str) -> None:
    root = m(("layers", Sequence("list", [m(("w", t()))])))
    with pytest.raises(InputError, match=f"has no key {index!r}"):
        select(root, key=f"layers.{index}")
    assert names(select(root, key="layers.0")) == ["w"]


def test_training_checkpoint_wrappers_are_unwrapped_to_their_state_dict() -> None:
    inner = m(("w", t("1")))
    deepspeed = m(("module", inner), ("global_steps", Leaf("int")), ("dp_world_size", Leaf("int")))
    assert select(deepspeed).key == "module" and names(select(deepspeed)) == ["w"]
    twice = m(("model", m(("state_dict", inner), ("arch", Leaf("str")))), ("epoch", Leaf("int")))
    assert select(twice).key == "model.state_dict"


def test_nested_state_dicts_without_other_values_are_flattened_whole() -> None:
    root = m(("encoder", m(("w", t("1")))), ("decoder", m(("w", t("2")))))
    selection = select(root)
    assert selection.key is None and sorted(names(selection)) == ["decoder.w", "encoder.w"]
    beside_tensor = m(("w", t("1")), ("head", m(("b", t("2")))), ("step", Leaf("int")))
    assert sorted(names(select(beside_tensor))) == ["head.b", "w"]


def test_several_state_dicts_beside_other_values_list_the_keys_to_choose() -> None:
    root = m(("model", m(("w", t("1")))), ("model_ema", m(("w", t("2")))), ("epoch", Leaf("int")))
    with pytest.raises(InputError) as choose:
        select(root)
    assert "--key model (1 tensors), --key model_ema (1 tensors)" in choose.value.problem
    assert names(select(root, key="model_ema")) == ["w"]


def test_dataparallel_prefix_is_stripped_only_from_every_name() -> None:
    wrapped = m(("module.conv.weight", t("1")), ("module.conv.bias", t("2")))
    selection = select(wrapped)
    assert sorted(names(selection)) == ["conv.bias", "conv.weight"]
    assert selection.stripped_prefix == "module."
    assert sorted(names(select(wrapped, strip_prefix=False))) == [
        "module.conv.bias",
        "module.conv.weight",
    ]
    mixed = m(("module.conv.weight", t("1")), ("head.bias", t("2")))
    assert select(mixed).stripped_prefix == ""
