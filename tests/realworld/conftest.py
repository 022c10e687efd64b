"""Session fixtures: the real-world corpus, fetched and built once into the test cache."""

from __future__ import annotations

import pytest

from tests.realworld.artifacts import Artifact
from tests.realworld.corpus import RegistryUnreachable, fetch_all, library_artifacts


@pytest.fixture(scope="session")
def shipped() -> list[Artifact]:
    """Model files shipped inside PyPI packages (skips only when the index is unreachable)."""
    try:
        return fetch_all()
    except RegistryUnreachable as exc:
        pytest.skip(f"the package index is unreachable: {exc}")


@pytest.fixture(scope="session")
def written() -> list[Artifact]:
    """Model files written by torch, scikit-learn, skops, xgboost, lightgbm, onnx, transformers."""
    pytest.importorskip("torch")
    artifacts, missing = library_artifacts()
    assert missing == (), f"install the 'test' extra: {missing} missing"
    return artifacts
