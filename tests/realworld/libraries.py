"""Model files written by the real libraries on this machine (torch, scikit-learn, ...).

Each builder writes small, deterministic artifacts with the library's own
save function, exactly as a user would, and says which format each file is.
A builder whose library is not installed is left out and named in
``Built.missing`` (the tests decide whether that is acceptable).
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.realworld.artifacts import Artifact


@dataclass(frozen=True)
class Built:
    artifacts: tuple[Artifact, ...]
    #: Builders skipped because their library is not installed.
    missing: tuple[str, ...]


Builder = Callable[[Path], list[Artifact]]


def _art(root: Path, rel: str, fmt: str, origin: str) -> Artifact:
    return Artifact(root / rel, rel, fmt, origin)


def _tiny_torch_module() -> object:
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2), torch.nn.Softmax(dim=-1)
    )


def build_torch(root: Path) -> list[Artifact]:
    import torch

    model = _tiny_torch_module()
    assert isinstance(model, torch.nn.Module)
    root.mkdir(parents=True, exist_ok=True)
    checkpoint = {"epoch": 3, "state_dict": model.state_dict(), "best_acc": 0.5}
    legacy = {"_use_new_zipfile_serialization": False}
    torch.save(model.state_dict(), root / "state_dict.pt")
    torch.save(model.state_dict(), root / "state_dict_legacy.pt", **legacy)  # type: ignore[arg-type]
    torch.save(model, root / "whole_module.pt")
    torch.save(model, root / "whole_module_legacy.pth", **legacy)  # type: ignore[arg-type]
    torch.save(checkpoint, root / "checkpoint.pth.tar")
    torch.save(checkpoint, root / "checkpoint_legacy.pth.tar", **legacy)  # type: ignore[arg-type]
    torch.save(model.state_dict(), root / "pytorch_model.bin")
    torch.jit.save(torch.jit.script(model), root / "scripted.pt")
    torch.jit.save(torch.jit.trace(model, torch.zeros(1, 4)), root / "traced.pt")
    return [
        _art(root, "state_dict.pt", "pytorch-zip", "torch.save state_dict"),
        _art(root, "state_dict_legacy.pt", "pytorch-legacy", "torch.save legacy state_dict"),
        _art(root, "whole_module.pt", "pytorch-zip", "torch.save whole nn.Sequential"),
        _art(root, "whole_module_legacy.pth", "pytorch-legacy", "torch.save legacy whole module"),
        _art(root, "checkpoint.pth.tar", "pytorch-zip", "torch.save checkpoint named .pth.tar"),
        _art(root, "checkpoint_legacy.pth.tar", "pytorch-legacy", "legacy .pth.tar checkpoint"),
        _art(root, "pytorch_model.bin", "pytorch-zip", "torch.save named pytorch_model.bin"),
        _art(root, "scripted.pt", "torchscript", "torch.jit.save(torch.jit.script)"),
        _art(root, "traced.pt", "torchscript", "torch.jit.save(torch.jit.trace)"),
    ]


def build_onnx_export(root: Path) -> list[Artifact]:
    import logging

    import onnx
    import torch

    # the exporter warns about every torchvision op it cannot register
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)

    model = _tiny_torch_module()
    assert isinstance(model, torch.nn.Module)
    root.mkdir(parents=True, exist_ok=True)
    args = (torch.zeros(1, 4),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(root / "legacy_exporter.onnx"), dynamo=False)
        torch.onnx.export(model, args, str(root / "dynamo.onnx"), dynamo=True, verbose=False)
    (root / "external").mkdir(exist_ok=True)
    # every initializer in one side file, as large exported models are saved
    proto = onnx.load(str(root / "dynamo.onnx"))
    onnx.save_model(
        proto,
        str(root / "external" / "model.onnx"),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="model.onnx.data",
        size_threshold=0,
    )
    artifacts = [
        _art(root, "legacy_exporter.onnx", "onnx", "torch.onnx.export (TorchScript exporter)"),
        _art(root, "dynamo.onnx", "onnx", "torch.onnx.export (dynamo exporter)"),
        _art(root, "external/model.onnx", "onnx", "exported, saved with external data"),
        Artifact(
            root / "external/model.onnx.data",
            "external/model.onnx.data",
            "unknown",
            "ONNX external tensor data",
            "raw tensor bytes: known only through the model that names them",
        ),
    ]
    return artifacts


def build_sklearn(root: Path) -> list[Artifact]:
    import joblib
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.feature_extraction.text import (
        CountVectorizer,
        TfidfTransformer,
        TfidfVectorizer,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    texts = ["the cat sat", "a dog ran", "the dog sat", "a cat ran"] * 5
    labels = [0, 1, 1, 0] * 5
    counts = CountVectorizer().fit_transform(texts)
    estimators: dict[str, object] = {
        "logistic": LogisticRegression().fit(x, y),
        "forest": RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y),
        "boosting": GradientBoostingClassifier(n_estimators=3, random_state=0).fit(x, y),
        "svc": SVC().fit(x, y),
        "linear_svc_pipeline": make_pipeline(StandardScaler(), LinearSVC()).fit(x, y),
        "kmeans": KMeans(n_clusters=2, n_init=1, random_state=0).fit(x),
        "pca": PCA(n_components=2).fit(x),
        "count_vectorizer": CountVectorizer().fit(texts),
        "tfidf_vectorizer": TfidfVectorizer().fit(texts),
        "tfidf_transformer": TfidfTransformer().fit(counts),
        "text_pipeline": make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels),
    }
    artifacts = []
    for name, estimator in estimators.items():
        joblib.dump(estimator, root / f"{name}.joblib")
        artifacts.append(_art(root, f"{name}.joblib", "pickle", f"joblib.dump {name}"))
    joblib.dump(estimators["forest"], root / "forest_compressed.joblib", compress=3)
    artifacts.append(_art(root, "forest_compressed.joblib", "zlib", "joblib.dump compress=3"))
    if importlib.util.find_spec("skops") is not None:
        import skops.io

        for name in ("logistic", "forest", "text_pipeline"):
            skops.io.dump(estimators[name], root / f"{name}.skops")
            artifacts.append(_art(root, f"{name}.skops", "zip", f"skops.io.dump {name}"))
    return artifacts


def build_xgboost(root: Path) -> list[Artifact]:
    import numpy as np
    import xgboost

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    booster = xgboost.train({"max_depth": 2, "nthread": 1}, xgboost.DMatrix(x, y), 2)
    booster.save_model(str(root / "model.json"))
    booster.save_model(str(root / "model.ubj"))
    return [
        _art(root, "model.json", "json", "xgboost save_model json"),
        _art(root, "model.ubj", "xgboost-ubj", "xgboost save_model ubj"),
    ]


def build_lightgbm(root: Path) -> list[Artifact]:
    import lightgbm
    import numpy as np

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    params = {"objective": "binary", "num_leaves": 4, "verbose": -1, "num_threads": 1}
    booster = lightgbm.train(params, lightgbm.Dataset(x, y), num_boost_round=2)
    booster.save_model(str(root / "model.txt"))
    return [_art(root, "model.txt", "lightgbm", "lightgbm save_model")]


def build_transformers(root: Path) -> list[Artifact]:
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=64,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    model = BertModel(config)
    model.save_pretrained(root / "safetensors")
    # transformers 5 writes safetensors only; 4.x's bin format was this torch.save
    (root / "bin").mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), root / "bin" / "pytorch_model.bin")
    artifacts = [
        _art(root, "safetensors/config.json", "json", "transformers save_pretrained config"),
        _art(root, "safetensors/model.safetensors", "safetensors", "transformers save_pretrained"),
        _art(
            root, "bin/pytorch_model.bin", "pytorch-zip", "transformers state_dict, 4.x bin format"
        ),
    ]
    generation = root / "safetensors" / "generation_config.json"
    if generation.exists():
        artifacts.append(_art(root, "safetensors/generation_config.json", "json", "transformers"))
    return artifacts


def build_keras(root: Path) -> list[Artifact]:
    import os

    # Keras picks its backend at import; torch is the one installed here
    os.environ["KERAS_BACKEND"] = "torch"
    import keras

    keras.utils.set_random_seed(0)
    root.mkdir(parents=True, exist_ok=True)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    hidden = keras.layers.Dropout(0.1)(hidden)
    outputs = keras.layers.Dense(2, activation="softmax")(hidden)
    functional = keras.Model(inputs, outputs)
    functional.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    sequential = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    functional.save(root / "functional.keras")
    sequential.save(root / "sequential.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "HDF5 is a legacy format"
        import logging

        logging.getLogger("absl").setLevel(logging.ERROR)
        functional.save(root / "functional.h5")
    functional.save_weights(root / "functional.weights.h5")
    return [
        _art(root, "functional.keras", "keras", "keras 3 (torch) Model.save .keras"),
        _art(root, "sequential.keras", "keras", "keras 3 (torch) Sequential.save .keras"),
        _art(root, "functional.h5", "hdf5", "keras 3 (torch) Model.save legacy .h5"),
        _art(root, "functional.weights.h5", "hdf5", "keras 3 (torch) save_weights"),
    ]


def build_chat_template(root: Path) -> list[Artifact]:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "hello": 1, "<|im_start|>": 2, "<|im_end|>": 3}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()  # type: ignore[assignment]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", eos_token="<|im_end|>"
    )
    # the ChatML template many chat models ship; transformers 5 writes it as chat_template.jinja
    tokenizer.chat_template = (
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
        "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    )
    tokenizer.save_pretrained(root)
    return [
        _art(root, "chat_template.jinja", "chat-template", "transformers save_pretrained"),
        _art(root, "tokenizer_config.json", "json", "transformers tokenizer save_pretrained"),
    ]


#: (name, modules the builder needs, builder)
BUILDERS: tuple[tuple[str, tuple[str, ...], Builder], ...] = (
    ("torch", ("torch",), build_torch),
    ("onnx-export", ("torch", "onnx", "onnxscript"), build_onnx_export),
    ("scikit-learn", ("sklearn", "joblib"), build_sklearn),
    ("xgboost", ("xgboost",), build_xgboost),
    ("lightgbm", ("lightgbm",), build_lightgbm),
    ("transformers", ("torch", "transformers"), build_transformers),
    ("keras", ("torch", "keras", "h5py"), build_keras),
    ("chat-template", ("transformers", "tokenizers"), build_chat_template),
)


def build_all(root: Path) -> Built:
    """Write every artifact a present library can make under ``root``."""
    artifacts: list[Artifact] = []
    missing: list[str] = []
    for name, modules, builder in BUILDERS:
        if not all(importlib.util.find_spec(m) is not None for m in modules):
            missing.append(name)
            continue
        with warnings.catch_warnings():
            # torch.jit is deprecated in favour of torch.export; its files are still shipped
            warnings.simplefilter("ignore", DeprecationWarning)
            artifacts.extend(builder(root / name))
    return Built(tuple(artifacts), tuple(missing))
