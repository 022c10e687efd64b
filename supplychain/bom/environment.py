"""The Python runtime a model needs: requirement and lock files, or the installed distributions."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from supplychain._internal.safeopen import REQUIREMENTS, check_nesting, read_text
from supplychain.bom.model import Library, normalize_dist_name
from supplychain.errors import InputError


class RequirementsError(InputError):
    """A requirements, pyproject or lock file cannot be read."""


def read_requirements(path: str | os.PathLike[str]) -> tuple[Library, ...]:
    """Libraries from requirements.txt, pyproject.toml, pylock.toml, uv.lock or poetry.lock."""
    file = Path(path)
    text = read_text(file, REQUIREMENTS, error=RequirementsError)
    name = file.name.lower()
    if name.endswith(".toml") or name.endswith(".lock"):
        document = _toml(text, file)
        if name == "pyproject.toml":
            libraries = _pyproject(document, file)
        else:
            libraries = _lock(document, file)
    else:
        libraries = list(_requirements_txt(text, file))
    return _dedupe(libraries)


def installed_libraries() -> tuple[Library, ...]:
    """The distributions installed in the running interpreter's environment."""
    from importlib.metadata import distributions

    libraries = []
    for dist in distributions():
        name = _metadata_field(dist.metadata, "Name")
        if not name:
            continue
        expression, license_name = _dist_license(dist.metadata)
        libraries.append(
            Library(
                name=name,
                version=dist.version,
                license_expression=expression,
                license_name=license_name,
                source="installed",
            )
        )
    return _dedupe(libraries)


def _dedupe(libraries: Iterable[Library]) -> tuple[Library, ...]:
    by_name: dict[str, Library] = {}
    for library in libraries:
        by_name.setdefault(normalize_dist_name(library.name), library)
    return tuple(by_name[k] for k in sorted(by_name))


def _toml(text: str, file: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RequirementsError(f"not valid TOML: {exc}", path=file) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise RequirementsError("the TOML nests arrays or tables too deeply", path=file) from None
    problem = check_nesting(document)
    if problem is not None:
        raise RequirementsError(f"the TOML is refused: {problem}", path=file)
    return document


def _requirement(text: str, source: str, file: Path) -> Library | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "unparsable"
        raise RequirementsError(
            f"invalid requirement {_clip(text)!r}: {_clip(reason)}", path=file
        ) from None
    if requirement.url:
        return Library(requirement.name, specifier=f"@ {requirement.url}", source=source)
    pinned = [
        s for s in requirement.specifier if s.operator in ("==", "===") and "*" not in s.version
    ]
    if len(pinned) == 1:
        return Library(requirement.name, version=pinned[0].version, source=source)
    return Library(requirement.name, specifier=str(requirement.specifier) or None, source=source)


def _requirements_txt(text: str, file: Path) -> Iterator[Library]:
    # Join continuation lines, drop comments and pip options (-r, -e, --hash, --index-url).
    logical = re.sub(r"\\\r?\n", " ", text)
    for line in logical.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line or line.startswith("-"):
            continue
        line = re.split(r"\s--?[a-z]", line, maxsplit=1)[0].strip()
        library = _requirement(line, file.name, file)
        if library is not None:
            yield library


def _pyproject(document: dict[str, Any], file: Path) -> list[Library]:
    project = document.get("project") or {}
    dependencies = project.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise RequirementsError("[project].dependencies is not a list", path=file)
    return [lib for lib in (_requirement(str(d), file.name, file) for d in dependencies) if lib]


def _lock(document: dict[str, Any], file: Path) -> list[Library]:
    """pylock.toml ([[packages]]), uv.lock and poetry.lock ([[package]]): name and version."""
    packages = document.get("packages") or document.get("package") or []
    if not isinstance(packages, list):
        raise RequirementsError("no [[packages]] or [[package]] tables", path=file)
    libraries = []
    for package in packages:
        if isinstance(package, dict) and isinstance(package.get("name"), str):
            version = package.get("version")
            libraries.append(
                Library(
                    package["name"], version=str(version) if version else None, source=file.name
                )
            )
    return libraries


def _dist_license(metadata: Any) -> tuple[str | None, str | None]:
    """(SPDX expression, licence name) from core metadata; PEP 639 first, then classifiers."""
    from cyclonedx.spdx import fixup_id, is_expression

    expression = _metadata_field(metadata, "License-Expression")
    if expression and is_expression(expression):
        return expression.strip(), None
    for classifier in metadata.get_all("Classifier") or ():
        if classifier.startswith("License :: ") and " :: " in classifier[11:]:
            title = classifier.rsplit(" :: ", 1)[1]
            spdx = _CLASSIFIER_SPDX.get(title) or fixup_id(title)
            if spdx:
                return spdx, None
            return None, title
    text = (_metadata_field(metadata, "License") or "").strip()
    if text and "\n" not in text and len(text) <= 80:
        spdx = fixup_id(text)
        return (spdx, None) if spdx else (None, text)
    return None, None


def _metadata_field(metadata: Any, key: str) -> str | None:
    # .get, not [key]: indexing a missing key is deprecated on 3.13 and raises later.
    value = metadata.get(key)
    return value if isinstance(value, str) and value else None


#: Trove licence classifiers that name exactly one SPDX licence. Family classifiers
#: ("BSD License", "Apache Software License") say no version and stay names.
_CLASSIFIER_SPDX = {
    "MIT License": "MIT",
    "ISC License (ISCL)": "ISC",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "The Unlicense (Unlicense)": "Unlicense",
}


def _clip(text: str, limit: int = 120) -> str:
    """At most ``limit`` characters of an untrusted line, for an error message."""
    return text if len(text) <= limit else text[:limit] + "…"
