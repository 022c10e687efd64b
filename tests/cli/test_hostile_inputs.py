"""Every file option of every command, and models holding hostile files, against hostile inputs.

Inputs: a FIFO (an unguarded ``open`` blocks forever), a link to ``/dev/zero``
(an unguarded read never ends), a directory, JSON nested a million levels
(``RecursionError`` in every recursive parser), JSON nested exactly at the cap
(every recursive consumer must cope), bytes that are not UTF-8, and a path
with a 300-byte component (``ENAMETOOLONG``). Each case must end with its
documented exit code and a message naming the file: no traceback, no
internal error (70).

All cases run in one child process (imports are paid once), each case in
process through the real entry point. The child's data segment is capped, so
an unbounded read fails as ``MemoryError`` (exit 70) instead of taking the
machine; a case that does not answer within :data:`CASE_SECONDS` is reported
as hung, the child is killed and the remaining cases run in a fresh one.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from supplychain._internal.safeopen import MAX_NESTING
from tests.conftest import RunCli

#: A hang guard, not a benchmark: every case takes well under a second alone.
CASE_SECONDS = 15
#: The child's data segment limit: far above what any case needs (~300 MB).
MEMORY_LIMIT = 1 << 30
REPO = Path(__file__).resolve().parents[2]

# -- hostile inputs ---------------------------------------------------------------


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _dev_zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _deep_json(path: Path) -> Path:
    path.write_text("[" * 1_000_000 + "]" * 1_000_000)
    return path


def _json_at_cap(path: Path) -> Path:
    path.write_text("[" * MAX_NESTING + "]" * MAX_NESTING)
    return path


def _not_utf8(path: Path) -> Path:
    path.write_bytes(b'{"a": "\xff\xfe\x80"}\n')
    return path


def _long_name(path: Path) -> Path:
    return path.parent / ("n" * 300)  # never created: no file system allows the name


HOSTILE: dict[str, Callable[[Path], Path]] = {
    "fifo": _fifo,
    "dev-zero": _dev_zero,
    "directory": _directory,
    "deep-json": _deep_json,
    "json-at-cap": _json_at_cap,
    "not-utf8": _not_utf8,
    "long-name": _long_name,
}

# -- what is run ------------------------------------------------------------------

#: (id, arguments with {x} for the hostile path, exit codes the command documents for it).
OPTIONS: list[tuple[str, tuple[str, ...], Collection[int]]] = [
    ("sign --key", ("sign", "{model}", "--key", "{x}", "-s", "{out}/a.sig"), frozenset({2})),
    (
        "sign --certificate",
        ("sign", "{model}", "--key", "{key}", "--certificate", "{x}", "-s", "{out}/b.sig"),
        frozenset({2}),
    ),
    (
        "sign --chain",
        (
            *("sign", "{model}", "--key", "{key}", "--certificate", "{cert}"),
            *("--chain", "{x}", "-s", "{out}/c.sig"),
        ),
        frozenset({2}),
    ),
    (
        "sign --trust-config",
        (
            *("sign", "{model}", "--sigstore", "--identity-token", "x", "--no-interactive"),
            *("-s", "{out}/d.sig", "--trust-config", "{x}"),
        ),
        frozenset({2}),
    ),
    # 1: a file that is read but is not a signature is "nothing verified".
    ("verify -s", ("verify", "{model}", "-s", "{x}", "--public-key", "{pub}"), frozenset({1, 2})),
    ("verify --public-key", ("verify", "{model}", "--public-key", "{x}"), frozenset({2})),
    ("verify --certificate-chain", ("verify", "{model}", "--certificate-chain", "{x}"), {2}),
    (
        "verify --trust-config",
        ("verify", "{model}", "--identity", "a", "--issuer", "b", "--trust-config", "{x}"),
        frozenset({2}),
    ),
    ("bom --provenance", ("bom", "{model}", "--no-scan", "--provenance", "{x}"), {2}),
    ("bom --conversion-record", ("bom", "{model}", "--no-scan", "--conversion-record", "{x}"), {2}),
    ("bom --requirements", ("bom", "{model}", "--no-scan", "--requirements", "{x}"), {2}),
    ("bom show", ("bom", "show", "{x}"), frozenset({2})),
    ("bom diff new", ("bom", "diff", "{bom}", "{x}"), frozenset({2})),
    ("bom diff old", ("bom", "diff", "{x}", "{bom}"), frozenset({2})),
    ("check --policy", ("check", "{model}", "--policy", "{x}"), frozenset({2})),
    # 12 and 17: the signature or BOM check fails and says why.
    ("check -s", ("check", "{model}", "--policy", "{policy}", "-s", "{x}"), {2, 12}),
    ("check --bom", ("check", "{model}", "--policy", "{policy}", "--bom", "{x}"), {2, 17}),
    ("policy validate", ("policy", "validate", "{x}"), frozenset({2})),
    ("scan --allowlist", ("scan", "{model}", "--allowlist", "{x}"), frozenset({2})),
]

#: Commands whose MODEL argument is the hostile path (FIFO, device link, long name).
MODEL_COMMANDS: list[tuple[str, tuple[str, ...], Collection[int]]] = [
    ("hash", ("hash", "{x}"), frozenset({2})),
    ("digest", ("digest", "{x}"), frozenset({2})),
    ("sign", ("sign", "{x}", "--key", "{key}", "-s", "{out}/m.sig"), frozenset({2})),
    ("verify", ("verify", "{x}", "-s", "{sig}", "--public-key", "{pub}"), frozenset({2})),
    ("bom", ("bom", "{x}", "--no-scan"), frozenset({2})),
    ("check", ("check", "{x}", "--policy", "{policy}"), frozenset({2, 10})),
    ("scan", ("scan", "{x}"), frozenset({2})),
    ("convert", ("convert", "{x}", "-o", "{out}/converted"), frozenset({2})),
]
MODEL_INPUTS = ("fifo", "dev-zero", "long-name")

#: Downloaded models holding a hostile file: (id, file, hostile input, arguments, codes).
_VERIFY_IT = ("verify", "{m}", "--public-key", "{pub}")
_CHECK_IT = ("check", "{m}", "--policy", "{policy}")
INSIDE_MODEL: list[tuple[str, str, str, tuple[str, ...], Collection[int]]] = [
    ("verify model.sig fifo", "model.sig", "fifo", _VERIFY_IT, {2}),
    ("verify model.sig dev-zero", "model.sig", "dev-zero", _VERIFY_IT, {2}),
    ("verify model.sig deep", "model.sig", "deep-json", _VERIFY_IT, {1}),
    ("check model.sig fifo", "model.sig", "fifo", _CHECK_IT, {12}),
    ("check model.sig dev-zero", "model.sig", "dev-zero", _CHECK_IT, {12}),
    ("check model.sig deep", "model.sig", "deep-json", _CHECK_IT, {12}),
    ("bom deep config.json", "config.json", "deep-json", ("bom", "{m}", "--no-scan"), {2}),
    ("check deep config.json", "config.json", "deep-json", _CHECK_IT, {2}),
]


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    codes: frozenset[int]
    #: Which hostile input (a key of HOSTILE).
    hostile: str
    #: For a hostile file inside a model: its name there.
    inside: str | None = None


def _cases() -> Iterator[Case]:
    for option, argv, codes in OPTIONS:
        for hostile in HOSTILE:
            yield Case(f"{option} <- {hostile}", argv, frozenset(codes), hostile)
    for command, argv, codes in MODEL_COMMANDS:
        for hostile in MODEL_INPUTS:
            yield Case(f"{command} MODEL <- {hostile}", argv, frozenset(codes), hostile)
    for case_id, file, hostile, argv, codes in INSIDE_MODEL:
        yield Case(case_id, argv, frozenset(codes), hostile, inside=file)


CASES = list(_cases())


# -- the world the cases run in ---------------------------------------------------------


@dataclass(frozen=True)
class World:
    places: dict[str, str]
    hostile: dict[str, Path]
    models: dict[str, Path]


def _build_world(root: Path) -> World:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    from supplychain.signing import KeySigner, sign
    from supplychain.signing.keys import generate_private_key, private_key_pem, public_key_pem

    key = generate_private_key()
    (root / "k.key").write_bytes(private_key_pem(key, None))
    (root / "k.pub").write_bytes(public_key_pem(key.public_key()))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile-test")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.datetime(2020, 1, 1))
        .not_valid_after(datetime.datetime(2100, 1, 1))
        .sign(key, hashes.SHA256())
    )
    (root / "leaf.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    model = root / "model"
    model.mkdir()
    (model / "weights.txt").write_text("not really weights\n")
    sign(model, KeySigner.from_file(root / "k.key"), progress=False)
    (root / "policy.yaml").write_text(
        "version: 1\nsignature:\n  signers:\n    - public_key: k.pub\n"
        "bom:\n  required: true\n  verify_hashes: false\n"
        "licenses:\n  required: false\n"
    )
    (root / "good.cdx.json").write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6"}')
    (root / "out").mkdir()
    places = {
        "model": str(model),
        "key": str(root / "k.key"),
        "pub": str(root / "k.pub"),
        "cert": str(root / "leaf.pem"),
        "sig": str(model / "model.sig"),
        "policy": str(root / "policy.yaml"),
        "bom": str(root / "good.cdx.json"),
        "out": str(root / "out"),
    }
    inputs = root / "hostile"
    inputs.mkdir()
    hostile = {label: make(inputs / f"{label}.json") for label, make in HOSTILE.items()}
    models = {}
    for case_id, file, label, _, _ in INSIDE_MODEL:
        directory = root / case_id.replace(" ", "_")
        directory.mkdir()
        (directory / "weights.txt").write_text("not really weights\n")
        HOSTILE[label](directory / file)
        models[case_id] = directory
    return World(places, hostile, models)


def _argv(case: Case, world: World) -> list[str]:
    values = dict(world.places)
    if case.inside is not None:
        values["m"] = str(world.models[case.id])
    else:
        values["x"] = str(world.hostile[case.hostile])
    return [part.format(**values) for part in case.argv]


def _expected_name(case: Case, world: World) -> str:
    return case.inside if case.inside is not None else world.hostile[case.hostile].name


# -- the child that runs them -------------------------------------------------------

_CHILD = """
import json, resource, sys, time
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
from click.testing import CliRunner
from supplychain.cli import main
cases = [json.loads(line) for line in sys.stdin]
for argv in cases:
    started = time.perf_counter()
    with CliRunner().isolation() as streams:
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = (s.getvalue().decode(errors="replace") for s in streams[:2])
    clip = lambda text: text if len(text) < 8000 else text[:4000] + "[...]" + text[-4000:]
    print(json.dumps({"code": code, "out": clip(out), "err": clip(err),
                      "seconds": time.perf_counter() - started}), flush=True)
"""


@dataclass(frozen=True)
class Outcome:
    code: int | None
    out: str = ""
    err: str = ""
    seconds: float = 0.0
    #: "hung" or "crashed" when the child gave no answer for the case.
    failure: str | None = None


def _read_line(stream: object, buffer: bytearray, timeout: float) -> bytes | None:
    fd = stream.fileno()  # type: ignore[attr-defined]
    while b"\n" not in buffer:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b""
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line


def _run_all(argvs: list[list[str]]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    while len(outcomes) < len(argvs):
        pending = argvs[len(outcomes) :]
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(MEMORY_LIMIT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("".join(json.dumps(a) + "\n" for a in pending).encode())
        child.stdin.close()
        buffer = bytearray()
        for _ in pending:
            line = _read_line(child.stdout, buffer, CASE_SECONDS)
            if not line:
                outcomes.append(Outcome(None, failure="hung" if line is None else "crashed"))
                child.kill()
                break
            outcomes.append(Outcome(**json.loads(line)))
        child.wait()
        child.stdout.close()
    return outcomes


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Outcome, str]]:
    world = _build_world(tmp_path_factory.mktemp("hostile"))
    results = _run_all([_argv(case, world) for case in CASES])
    return {
        case.id: (outcome, _expected_name(case, world))
        for case, outcome in zip(CASES, results, strict=True)
    }


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_input_is_refused_clearly(
    case: Case, outcomes: dict[str, tuple[Outcome, str]]
) -> None:
    outcome, name = outcomes[case.id]
    assert outcome.failure is None, f"{case.id}: the command {outcome.failure}"
    output = outcome.out + outcome.err
    assert "Traceback" not in output and "internal error" not in output, output
    assert outcome.code in case.codes, (outcome.code, output)
    assert name in output, output


def _bom_nested_to(depth: int) -> str:
    """A CycloneDX BOM whose components nest ``depth`` JSON levels deep (two per component)."""
    component: dict[str, object] = {"type": "library", "name": "leaf", "bom-ref": "leaf"}
    levels = (depth - 3) // 2
    for i in range(levels):
        component = {"type": "library", "name": f"c{i}", "bom-ref": f"c{i}"} | {
            "components": [component]
        }
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    text = json.dumps(document | {"components": [component]})
    from supplychain._internal.safeopen import json_nesting

    assert MAX_NESTING - 2 <= json_nesting(text) <= MAX_NESTING
    return text


def test_a_bom_nested_to_the_cap_goes_through_every_consumer(
    run_cli: RunCli, tmp_path: Path
) -> None:
    # The cap must sit inside every recursive consumer's stack: the decoder, strict
    # schema validation, the summary, the HTML report and the diff.
    bom = tmp_path / "deep.cdx.json"
    bom.write_text(_bom_nested_to(MAX_NESTING))
    for args in (
        ("bom", "show", bom, "--html", tmp_path / "deep.html"),
        ("bom", "show", bom, "--json"),
        ("bom", "diff", bom, bom),
    ):
        result = run_cli(*args)
        assert result.exit_code in (0, 1), result
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert (tmp_path / "deep.html").stat().st_size > 0
