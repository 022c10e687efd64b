"""One way to get JSON Schema validators: jsonschema without its slowest import.

``import jsonschema`` imports ``rfc3987-syntax`` (when installed, as
``jsonschema[format-nongpl]`` installs it), which compiles its grammars on
import: 1.3 s of start-up for every command that validates anything. We
import jsonschema with that module held back and check the two formats it
served, ``iri`` and ``iri-reference``, with :mod:`supplychain._internal.iri`.
"""

from __future__ import annotations

import functools
import sys
from types import ModuleType
from typing import Any

_SLOW = "rfc3987_syntax"


def jsonschema() -> ModuleType:
    """The jsonschema package, imported without ``rfc3987_syntax``."""
    if "jsonschema" in sys.modules:
        return sys.modules["jsonschema"]
    held_back = _SLOW not in sys.modules
    if held_back:
        sys.modules[_SLOW] = None  # type: ignore[assignment]  # makes its import fail fast
    try:
        import jsonschema as imported
    finally:
        if held_back:
            del sys.modules[_SLOW]  # other code may still import it normally
    module: ModuleType = imported
    return module


@functools.cache
def format_checker(draft: str = "draft7") -> Any:
    """A draft's format checker, with RFC 3987 ``iri`` and ``iri-reference`` checks."""
    from supplychain._internal.iri import is_iri, is_iri_reference

    module = jsonschema()
    base = {
        "draft7": module.Draft7Validator,
        "draft2020-12": module.Draft202012Validator,
    }[draft].FORMAT_CHECKER
    checker = module.FormatChecker(formats=())
    checker.checkers = dict(base.checkers)
    for name, check in (("iri", is_iri), ("iri-reference", is_iri_reference)):
        checker.checks(name)(_strings_only(check))
    return checker


def _strings_only(check: Any) -> Any:
    def checked(instance: object) -> bool:
        return not isinstance(instance, str) or bool(check(instance))

    return checked


def validator(schema: dict[str, Any], *, formats: bool = False) -> Any:
    """A validator for ``schema`` (its ``$schema`` decides the draft)."""
    module = jsonschema()
    cls = module.validators.validator_for(schema)
    draft = "draft7" if cls is module.Draft7Validator else "draft2020-12"
    return cls(schema, format_checker=format_checker(draft) if formats else None)
