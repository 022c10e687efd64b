"""YAML for untrusted documents: safe types only, dates kept as written, bounded nesting.

PyYAML composes nodes recursively, so a document nested thousands of levels
deep would end in ``RecursionError`` (libyaml stops at 1,000 levels, which is
still too deep for the validators that walk the result). Every document is
held to :data:`~supplychain._internal.safeopen.MAX_NESTING` levels, and a
node reached twice (an alias) is refused: a few alias lines can expand to
billions of nodes for every consumer that walks the tree.
"""

from __future__ import annotations

from typing import Any

import yaml

from supplychain._internal.safeopen import MAX_NESTING, check_nesting


class _BoundedSafeLoader(yaml.SafeLoader):
    """The pure-Python safe loader, refusing nesting deeper than MAX_NESTING while composing."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_NESTING} levels deep", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


try:  # the C loader is much faster on large cards; both are safe loaders
    from yaml import CSafeLoader as _Base
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _Base = _BoundedSafeLoader  # type: ignore[assignment,misc]


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


class YAMLStructureError(yaml.YAMLError):
    """A well-formed YAML document too deep, or too self-referential, to be used safely."""


def load_yaml(text: str) -> Any:
    """Parse one YAML document with safe types and string dates, nested at most MAX_NESTING."""
    value = yaml.load(text, Loader=_StringDatesLoader)  # noqa: S506 - the loader is a SafeLoader
    problem = check_nesting(value)
    if problem is not None:
        raise YAMLStructureError(f"the document is refused: {problem}")
    return value


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of one YAML document (with line marks), nested at most MAX_NESTING."""
    return yaml.compose(text, Loader=_BoundedSafeLoader)
