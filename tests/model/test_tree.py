"""The model tree walker: order, ignore rules, symlink policy, path safety."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from supplychain.errors import InputError, ModelTreeError
from supplychain.model.tree import check_resource_name, walk_model


def make(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def names(root: Path, **kwargs: object) -> list[str]:
    return [f.name for f in walk_model(root, **kwargs).files]  # type: ignore[arg-type]


def test_component_order_puts_directory_before_sibling_file_with_dot(tmp_path: Path) -> None:
    make(
        tmp_path, {"tok.json": b"1", "tok/a": b"2", "x y": b"", "x/y": b"", "x-y": b"", "x.y": b""}
    )
    assert names(tmp_path) == ["tok/a", "tok.json", "x/y", "x y", "x-y", "x.y"]


def test_git_paths_are_ignored_only_at_the_root(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            ".git/HEAD": b"x",
            ".gitattributes": b"x",
            ".github/ci.yml": b"x",
            ".gitignore": b"x",
            "sub/.gitignore": b"x",
            "w.bin": b"x",
        },
    )
    assert names(tmp_path) == ["sub/.gitignore", "w.bin"]
    assert ".github/ci.yml" in names(tmp_path, ignore_git_paths=False)


def test_ignore_path_matches_subtree_but_not_a_name_prefix(tmp_path: Path) -> None:
    make(tmp_path, {"tok/a": b"", "tok/b/c": b"", "tok.json": b"", "README.md": b""})
    tree = walk_model(tmp_path, ignore=["tok", "README.md"])
    assert [f.name for f in tree.files] == ["tok.json"]
    assert tree.ignore_paths == (
        ".git",
        ".gitattributes",
        ".github",
        ".gitignore",
        "README.md",
        "tok",
    )


def test_absolute_ignore_inside_the_model_is_made_relative(tmp_path: Path) -> None:
    make(tmp_path, {"a": b"", "b/c": b""})
    tree = walk_model(tmp_path, ignore=[tmp_path / "b", "/somewhere/else"])
    assert [f.name for f in tree.files] == ["a"]
    assert "b" in tree.ignore_paths and "/somewhere/else" not in tree.ignore_paths


def test_ignore_path_with_dotdot_is_refused(tmp_path: Path) -> None:
    make(tmp_path, {"a": b""})
    with pytest.raises(ModelTreeError, match=r"'\.\./x' leaves the model"):
        walk_model(tmp_path, ignore=["../x"])


def test_signature_inside_the_model_is_excluded_and_recorded(tmp_path: Path) -> None:
    make(tmp_path, {"w.bin": b"1", "model.sig": b"{}"})
    tree = walk_model(tmp_path, signature=tmp_path / "model.sig")
    assert [f.name for f in tree.files] == ["w.bin"]
    assert "model.sig" in tree.ignore_paths


def test_single_file_is_a_model_named_dot(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"abc")
    tree = walk_model(path)
    assert tree.is_single_file and [f.name for f in tree.files] == ["."]
    assert tree.name == "model.safetensors" and tree.total_size == 3


def test_symlink_is_refused_by_default_naming_the_link(tmp_path: Path) -> None:
    make(tmp_path, {"real.bin": b"x"})
    (tmp_path / "link.bin").symlink_to("real.bin")
    with pytest.raises(ModelTreeError) as info:
        walk_model(tmp_path)
    assert str(tmp_path / "link.bin") in info.value.diagnostics()
    assert "--allow-symlinks" in info.value.diagnostics()


def test_allowed_symlink_inside_the_model_is_hashed_under_its_own_name(tmp_path: Path) -> None:
    make(tmp_path, {"real.bin": b"x"})
    (tmp_path / "link.bin").symlink_to("real.bin")
    tree = walk_model(tmp_path, allow_symlinks=True)
    assert [(f.name, f.via_symlink) for f in tree.files] == [
        ("link.bin", True),
        ("real.bin", False),
    ]


def test_symlink_escaping_the_model_is_refused_even_when_allowed(tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.write_bytes(b"s")
    model = make(tmp_path / "m", {"a": b""})
    (model / "escape").symlink_to(outside)
    with pytest.raises(ModelTreeError, match="points outside the model") as info:
        walk_model(model, allow_symlinks=True)
    assert str(model / "escape") in info.value.diagnostics()


def test_symlink_through_dotdot_back_inside_is_fine(tmp_path: Path) -> None:
    model = make(tmp_path / "m", {"d/real": b"r"})
    (model / "d" / "alias").symlink_to("../d/real")
    assert names(model, allow_symlinks=True) == ["d/alias", "d/real"]


def test_boundary_lets_links_reach_a_wider_directory(tmp_path: Path) -> None:
    blobs = make(tmp_path / "repo" / "blobs", {"abc": b"w"})
    snap = tmp_path / "repo" / "snapshots" / "rev"
    snap.mkdir(parents=True)
    (snap / "w.bin").symlink_to(blobs / "abc")
    tree = walk_model(snap, allow_symlinks=True, symlink_boundary=tmp_path / "repo")
    assert [f.name for f in tree.files] == ["w.bin"]
    with pytest.raises(ModelTreeError, match="outside"):
        walk_model(snap, allow_symlinks=True)


def test_symlinked_directory_is_refused(tmp_path: Path) -> None:
    model = make(tmp_path, {"d/x": b""})
    (model / "alias").symlink_to("d", target_is_directory=True)
    with pytest.raises(ModelTreeError, match="directory"):
        walk_model(model, allow_symlinks=True)


def test_ignored_symlink_is_not_an_error(tmp_path: Path) -> None:
    model = make(tmp_path, {"a": b""})
    (model / "link").symlink_to("/etc/passwd")
    assert names(model, ignore=["link"]) == ["a"]


def test_broken_symlink_is_refused_when_followed(tmp_path: Path) -> None:
    model = make(tmp_path, {"a": b""})
    (model / "dangling").symlink_to("nope")
    with pytest.raises(ModelTreeError, match="broken"):
        walk_model(model, allow_symlinks=True)


def test_fifo_is_refused(tmp_path: Path) -> None:
    make(tmp_path, {"a": b""})
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ModelTreeError, match="FIFO"):
        walk_model(tmp_path)


def test_missing_model_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        walk_model(tmp_path / "absent")


def test_non_utf8_file_name_is_refused(tmp_path: Path) -> None:
    make(tmp_path, {"a": b""})
    open(os.path.join(os.fsencode(tmp_path), b"bad\xff"), "wb").close()
    with pytest.raises(ModelTreeError, match="not valid UTF-8"):
        walk_model(tmp_path)


def test_only_selects_named_files(tmp_path: Path) -> None:
    make(tmp_path, {"a/b/c": b"", "a/d": b"", "e": b""})
    assert names(tmp_path, only={"a/b/c", "e", "missing"}) == ["a/b/c", "e"]


@pytest.mark.parametrize(
    "name",
    ["../x", "a/../../x", "/etc/passwd", "a\\b", "", "a//b", "./a", "a/", "a\x00b"],
)
def test_unsafe_resource_names_are_rejected(name: str) -> None:
    with pytest.raises(ModelTreeError, match="unsafe resource name"):
        check_resource_name(name)


@pytest.mark.parametrize("name", [".", "a", "a/b.bin", "é/ü.bin", "x y", "a:0:10"])
def test_safe_resource_names_pass(name: str) -> None:
    assert check_resource_name(name) == name
