"""NeMo archives and Hydra configs: instantiation references found, YAML read within bounds."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain.formats import nemo

CONFIG = """\
target: nemo.collections.asr.models.ctc_bpe_models.EncDecCTCModelBPE
sample_rate: 16000
encoder:
  _target_: nemo.collections.asr.modules.ConformerEncoder
  feat_in: 80
decoder:
  _target_: nemo.collections.asr.modules.ConvASRDecoder
  target: labels
optim:
  name: adamw
  lr: 0.001
"""


def test_archive_names() -> None:
    assert nemo.is_nemo_tar(["./model_config.yaml", "./model_weights.ckpt"])
    assert nemo.is_nemo_tar(["model_config.yaml"])
    assert not nemo.is_nemo_tar(["configs/model_config.yaml", "weights.ckpt"])


def test_references_are_found_and_plain_words_are_not() -> None:
    references = nemo.instantiation_references(nemo.parse_yaml(CONFIG.encode()))
    assert [(r.path, r.target) for r in references] == [
        ("/decoder/_target_", "nemo.collections.asr.modules.ConvASRDecoder"),
        ("/encoder/_target_", "nemo.collections.asr.modules.ConformerEncoder"),
        ("/target", "nemo.collections.asr.models.ctc_bpe_models.EncDecCTCModelBPE"),
    ]


def test_aliased_collections_are_refused_not_expanded() -> None:
    # a billion-laughs document: nine levels of ten aliases each. The one YAML loader
    # refuses aliases of collections (a few lines could expand to billions of nodes), so the
    # config is unreadable, which the scanner reports as "could not scan", never clean.
    lines = ["a0: &a0 {_target_: os.system}"]
    for level in range(1, 10):
        refs = ", ".join(f"*a{level - 1}" for _ in range(10))
        lines.append(f"a{level}: &a{level} [{refs}]")
    started = time.monotonic()
    with pytest.raises(nemo.NemoConfigError, match="alias"):
        nemo.parse_yaml("\n".join(lines).encode())
    assert time.monotonic() - started < 5


def test_deep_nesting_is_a_config_error() -> None:
    with pytest.raises(nemo.NemoConfigError):
        nemo.parse_yaml(b"[" * 50_000 + b"]" * 50_000)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(
    text=st.one_of(
        st.text(max_size=200),
        st.lists(
            st.sampled_from(
                ["_target_: ", "target: ", "os.system", "- ", "  ", "\n", "&a ", "*a", "{", "}"]
            ),
            max_size=30,
        ).map("".join),
    )
)
def test_fuzz_yaml_never_crashes(text: str) -> None:
    started = time.monotonic()
    with contextlib.suppress(nemo.NemoConfigError, nemo.NemoConfigLimit):
        nemo.instantiation_references(nemo.parse_yaml(text.encode()))
    assert time.monotonic() - started < 5
