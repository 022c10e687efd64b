"""Runtime libraries from requirement and lock files, and from the installed environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from supplychain.bom.environment import RequirementsError, installed_libraries, read_requirements
from tests.bom.repos import bom_document, hf_repo, props


def test_requirements_txt_pins_specifiers_hashes_and_markers(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(
        "# runtime of acme-chat\n"
        "torch==2.13.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
        "Transformers>=4.40,<5  # comment\n"
        "safetensors==0.4.5 ; python_version >= '3.10'\n"
        "-r other.txt\n"
        "-e ./local-package\n"
        "tokenizers @ https://example.com/tokenizers-0.19.whl\n"
    )

    libraries = {lib.name: lib for lib in read_requirements(path)}

    assert list(libraries) == ["safetensors", "tokenizers", "torch", "Transformers"]
    assert libraries["torch"].version == "2.13.0"
    assert libraries["Transformers"].version is None
    assert libraries["Transformers"].specifier == "<5,>=4.40"
    assert libraries["safetensors"].version == "0.4.5"
    assert libraries["tokenizers"].specifier == "@ https://example.com/tokenizers-0.19.whl"
    assert libraries["torch"].purl == "pkg:pypi/torch@2.13.0"
    assert libraries["Transformers"].purl == "pkg:pypi/transformers"


def test_pyproject_and_lock_files(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "svc"\ndependencies = ["numpy==2.1.0", "click>=8"]\n')
    lock = tmp_path / "uv.lock"
    lock.write_text(
        'version = 1\n[[package]]\nname = "numpy"\nversion = "2.1.0"\n'
        '[[package]]\nname = "click"\nversion = "8.1.7"\n'
    )
    pylock = tmp_path / "pylock.toml"
    pylock.write_text('lock-version = "1.0"\n[[packages]]\nname = "torch"\nversion = "2.13.0"\n')

    assert [(lib.name, lib.version) for lib in read_requirements(pyproject)] == [
        ("click", None),
        ("numpy", "2.1.0"),
    ]
    assert [(lib.name, lib.version) for lib in read_requirements(lock)] == [
        ("click", "8.1.7"),
        ("numpy", "2.1.0"),
    ]
    assert [(lib.name, lib.version, lib.source) for lib in read_requirements(pylock)] == [
        ("torch", "2.13.0", "pylock.toml")
    ]


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("requirements.txt", "torch>=>1\n", "invalid requirement 'torch>=>1'"),
        ("pyproject.toml", "[project\n", "not valid TOML"),
    ],
)
def test_bad_files_are_input_errors(tmp_path: Path, name: str, text: str, problem: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(RequirementsError, match=problem):
        read_requirements(path)


def test_installed_distributions_have_versions_and_licences() -> None:
    libraries = {lib.name.lower(): lib for lib in installed_libraries()}

    from importlib.metadata import version

    assert libraries["click"].version == version("click")
    assert libraries["click"].source == "installed"
    # PyYAML declares "License :: OSI Approved :: MIT License" or License-Expression: MIT.
    assert libraries["pyyaml"].license_expression == "MIT"


def test_libraries_are_components_the_model_depends_on(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("torch==2.13.0\ntransformers>=4.40\n")
    document = bom_document(hf_repo(tmp_path / "m"), requirements=[requirements])

    libraries = [c for c in document["components"] if c["type"] == "library"]
    assert [(c["name"], c.get("version"), c["purl"]) for c in libraries] == [
        ("torch", "2.13.0", "pkg:pypi/torch@2.13.0"),
        ("transformers", None, "pkg:pypi/transformers"),
    ]
    assert props(libraries[1], "supplychain:requirement:specifier") == [">=4.40"]
    assert document["dependencies"][0] == {
        "ref": "model",
        "dependsOn": ["pkg:pypi/torch@2.13.0", "pkg:pypi/transformers"],
    }
