"""The safe-open helper: regular files only, size caps, UTF-8, bounded JSON and YAML nesting."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain._internal import safeopen
from supplychain._internal.safeopen import (
    KEY,
    MAX_NESTING,
    FileKind,
    check_nesting,
    json_nesting,
    parse_json,
    read_bytes,
    read_json,
    read_text,
)
from supplychain._internal.yamlsafe import YAMLError, compose_yaml, load_yaml
from supplychain.errors import InputError


class KeyProblem(InputError):
    """Stands in for a caller's own error class."""


def test_reads_a_regular_file_and_follows_a_link(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_bytes(b"secret")
    (tmp_path / "link.pem").symlink_to(tmp_path / "key.pem")
    assert read_bytes(tmp_path / "key.pem", KEY) == b"secret"
    assert read_bytes(tmp_path / "link.pem", KEY) == b"secret"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "model.sig"
    os.mkfifo(fifo)
    with pytest.raises(KeyProblem, match=r"FIFO \(named pipe\), not a regular file") as caught:
        read_bytes(fifo, KEY, error=KeyProblem)
    assert caught.value.path == fifo


def test_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "model.sig"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputError, match="the signature file is a device, not a regular file"):
        read_bytes(link, safeopen.SIGNATURE)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the policy is a directory, not a regular file"):
        read_bytes(tmp_path, safeopen.POLICY)


def test_the_size_cap_is_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.pem"
    with big.open("wb") as handle:  # sparse: nothing is written, only the size set
        handle.truncate(KEY.max_bytes + 1)
    with pytest.raises(InputError, match=f"larger than {KEY.max_bytes} bytes"):
        read_bytes(big, KEY, what="public key")


def test_the_read_itself_stops_at_the_cap(tmp_path: Path) -> None:
    # /proc files report size 0 but have content: only the bounded read can stop them.
    tiny = FileKind("tiny", 4)
    with pytest.raises(InputError, match="larger than 4 bytes"):
        read_bytes("/proc/self/status", tiny)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / ("a" * 300), "too long"),
        (lambda p: p / "missing", "key not found"),
        (lambda p: p / "file.txt" / "below", "not a directory"),
        (lambda p: p / "loop", "too many levels of symbolic links"),
    ],
)
def test_os_errors_become_input_errors_naming_the_file(
    tmp_path: Path, make: object, message: str
) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(InputError, match=message) as caught:
        read_bytes(path, KEY)
    assert caught.value.path == path


def test_missing_hint_is_given_only_for_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_bytes(tmp_path / "absent", KEY, missing_hint="run keygen")
    assert caught.value.hint == "run keygen"


def test_text_must_be_utf8(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_bytes(b"name: \xff\n")
    with pytest.raises(InputError, match="not UTF-8 text \\(invalid byte at offset 6\\)"):
        read_text(tmp_path / "p.yaml", safeopen.POLICY)


def test_deep_json_is_refused_before_parsing(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 1_000_000 + "]" * 1_000_000)
    with pytest.raises(InputError, match=f"more than {MAX_NESTING} levels deep"):
        read_json(deep, safeopen.BOM)


def test_json_at_the_cap_parses() -> None:
    text = "[" * MAX_NESTING + "]" * MAX_NESTING
    assert json_nesting(text) == MAX_NESTING
    assert parse_json(text) is not None
    with pytest.raises(InputError, match="levels deep"):
        parse_json("[" + text + "]")


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"a": "[[[[{{{{" * 100, "b": ['\\"[[', "]"], "c": {}})
    assert json_nesting(text) == 2
    assert json_nesting("1") == 0


def test_invalid_json_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        parse_json('{"a": ', what="BOM")


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=8),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=4), children, max_size=3)
        ),
        max_leaves=20,
    )
)
def test_json_nesting_matches_the_document(value: object) -> None:
    def depth(node: object) -> int:
        if isinstance(node, list):
            return 1 + max((depth(c) for c in node), default=0)
        if isinstance(node, dict):
            return 1 + max((depth(c) for c in node.values()), default=0)
        return 0

    assert json_nesting(json.dumps(value)) == depth(value)
    assert json_nesting(json.dumps(value, ensure_ascii=False).encode()) == depth(value)


def test_yaml_nesting_is_capped() -> None:
    with pytest.raises(YAMLError, match="levels deep"):
        load_yaml("a: " + "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1))
    with pytest.raises(YAMLError):
        load_yaml("[" * 1_000_000)
    with pytest.raises(YAMLError, match="levels deep"):
        compose_yaml("[" * 1_000_000)
    assert load_yaml("a: [[1]]") == {"a": [[1]]}


def test_yaml_aliases_of_containers_are_refused() -> None:
    laughs = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n"
    with pytest.raises(YAMLError, match="alias"):
        load_yaml(laughs)
    assert load_yaml("a: &x word\nb: *x\n") == {"a": "word", "b": "word"}


def test_check_nesting_is_iterative() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert check_nesting(deep) is not None
    assert check_nesting({"a": [1, {"b": []}]}) is None
