"""YAML for untrusted documents: safe types only, dates kept as the strings they were written as."""

from __future__ import annotations

from typing import Any

import yaml

try:  # the C loader is much faster on large cards; both are safe loaders
    from yaml import CSafeLoader as _Base
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Base  # type: ignore[assignment]


class _StringDatesLoader(_Base):
    """A safe loader that does not turn ``2024-05-01`` into a ``datetime.date``.

    JSON Schema validation and CycloneDX output both want the text, and a
    round trip through ``date`` would silently normalise what the author wrote.
    """


_StringDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}

YAMLError = yaml.YAMLError


def load_yaml(text: str) -> Any:
    """Parse one YAML document with safe types and string dates."""
    return yaml.load(text, Loader=_StringDatesLoader)  # noqa: S506 - the loader is a SafeLoader
