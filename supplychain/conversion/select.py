"""Choose what to export and name it: unwrap ``state_dict``, follow ``--key``, flatten with ``.``.

Everything that is not exported is listed (path, what it is, why), never
silently dropped. Tensors that cannot be represented, objects of foreign
classes holding tensors, and two paths flattening to one name stop the
conversion with an error that names them.
"""

from __future__ import annotations

from dataclasses import dataclass

from supplychain.conversion.errors import (
    UnsafeCheckpointError,
    UnsupportedContentError,
)
from supplychain.conversion.tree import Leaf, Mapping, Node, Sequence, TensorView, Unsupported
from supplychain.errors import InputError

#: Wrappers unwrapped automatically, repeatedly (diffusers does the same for nested ControlNets).
AUTO_UNWRAP = "state_dict"
#: The prefix ``nn.DataParallel`` / DDP put on every name; removed when every tensor has it.
WRAPPER_PREFIX = "module."
#: Flattening visits at most this many values (shared containers could multiply paths).
MAX_VISITS = 20_000_000
RESERVED_NAMES = frozenset({"__metadata__"})

Key = object


@dataclass(frozen=True)
class Exported:
    """A tensor to write: its output name, its view, and the keys that reach it from the root."""

    name: str
    view: TensorView
    path: tuple[Key, ...]


@dataclass(frozen=True)
class Skipped:
    """Content that is not exported: where it is, what it is, and why it is left out."""

    path: str
    what: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "type": self.what, "reason": self.reason}


@dataclass(frozen=True)
class Selection:
    #: Keys followed from the checkpoint's root to the exported container.
    root_path: tuple[Key, ...]
    tensors: tuple[Exported, ...]
    skipped: tuple[Skipped, ...]
    #: Removed from the front of every name (``module.`` of DataParallel), or "".
    stripped_prefix: str = ""

    @property
    def key(self) -> str | None:
        """The ``--key`` that selects the same container (None: the whole checkpoint)."""
        return ".".join(str(k) for k in self.root_path) if self.root_path else None


def select(
    root: Node,
    *,
    key: str | None = None,
    drop_objects: bool = False,
    bare_name: str = "tensor",
    strip_prefix: bool = True,
) -> Selection:
    """The tensors to export from ``root`` (``key`` picks a sub-container, dotted).

    Without ``key``, training checkpoints are unwrapped: ``state_dict``
    repeatedly, then the one mapping of tensors beside epochs, optimizer state
    and other values (``model``, ``model_state_dict``, DeepSpeed's ``module``).
    Several such mappings (a model and its EMA copy) are an error listing the
    ``--key`` for each. A checkpoint that is a single bare tensor
    (``torch.save(t)``) exports it as ``bare_name``. With ``strip_prefix``,
    ``module.`` is removed when every name starts with it.
    """
    skipped: list[Skipped] = []
    if key is not None:
        node, root_path = _follow(root, key)
        if not isinstance(node, (Mapping, Sequence, TensorView)):
            raise InputError(
                f"--key {key!r} names {_describe(node)}, not a container of tensors",
                hint="choose a key that holds the state_dict",
            )
    else:
        node, root_path = _unwrap(root, skipped)
    flattener = _Flattener(drop_objects, root_path, explicit_root=key is not None)
    flattener.visit(node, (bare_name,) if isinstance(node, TensorView) else (), ())
    flattener.finish()
    tensors = tuple(flattener.tensors)
    prefix = ""
    if (
        strip_prefix
        and tensors
        and all(t.name.startswith(WRAPPER_PREFIX) and t.name != WRAPPER_PREFIX for t in tensors)
    ):
        prefix = WRAPPER_PREFIX
        tensors = tuple(Exported(t.name[len(prefix) :], t.view, t.path) for t in tensors)
    return Selection(root_path, tensors, (*skipped, *flattener.skipped), prefix)


def _unwrap(root: Node, skipped: list[Skipped]) -> tuple[Node, tuple[Key, ...]]:
    node: Node = root
    root_path: tuple[Key, ...] = ()
    while isinstance(node, Mapping):
        inner = node.get(AUTO_UNWRAP)
        if isinstance(inner, Mapping):
            chosen: Key = AUTO_UNWRAP
        else:
            found = _weights_beside_values(node, root_path)
            if found is None:
                break
            chosen, inner = found
        _skip_siblings(node, chosen, root_path, skipped)
        node, root_path = inner, (*root_path, chosen)
    return node, root_path


def _weights_beside_values(mapping: Mapping, root_path: tuple[Key, ...]) -> tuple[Key, Node] | None:
    """The one mapping of tensors in a training checkpoint (beside epochs, optimizer state...).

    None when the mapping is itself a state dict (tensors directly in it, or
    tensors only in mappings: a nested state dict, flattened whole) or holds
    tensors elsewhere. Several candidates beside other values: the user chooses.
    """
    candidates: list[tuple[Key, Mapping]] = []
    others = 0
    for item_key, value in mapping.items:
        if isinstance(value, Mapping) and value.is_optimizer_state:
            others += 1
        elif isinstance(value, Mapping) and isinstance(item_key, str) and _holds_tensors(value):
            candidates.append((item_key, value))
        elif _holds_tensors(value):
            return None  # a tensor or a list of tensors here: export the whole mapping
        else:
            others += 1
    if not candidates or not others:
        return None
    if len(candidates) == 1:
        return candidates[0]
    where = "the checkpoint" if not root_path else _render(root_path)
    choices = ", ".join(
        f"--key {'.'.join(str(k) for k in (*root_path, name))} ({_count_tensors(value)} tensors)"
        for name, value in candidates
    )
    raise InputError(
        f"{where} holds {len(candidates)} state dicts beside other values; choose one: {choices}",
        hint="pass one of these --key options (a model and its EMA copy are separate state dicts)",
    )


def _follow(root: Node, key: str) -> tuple[Node, tuple[Key, ...]]:
    """Walk a dotted key, matching the longest key at each level (keys may contain dots)."""
    tokens = key.split(".") if key else [""]
    node: Node = root
    path: list[Key] = []
    index = 0
    while index < len(tokens):
        for end in range(len(tokens), index, -1):
            part = ".".join(tokens[index:end])
            child = _child(node, part)
            if child is not None:
                node = child[1]
                path.append(child[0])
                index = end
                break
        else:
            here = "the checkpoint" if not path else f"{_render(tuple(path))}"
            raise InputError(
                f"--key {key!r}: {here} has no key {tokens[index]!r}",
                hint=f"available: {_available(node)}",
            )
    return node, tuple(path)


def _child(node: Node, part: str) -> tuple[Key, Node] | None:
    if isinstance(node, Mapping):
        for item_key, value in node.items:
            if (isinstance(item_key, str) and item_key == part) or (
                isinstance(item_key, int)
                and not isinstance(item_key, bool)
                and str(item_key) == part
            ):
                return item_key, value
    if isinstance(node, Sequence) and _is_index(part) and int(part) < len(node.items):
        return int(part), node.items[int(part)]
    return None


def _is_index(part: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts '²', which ``int`` rejects."""
    return 0 < len(part) <= 18 and part.isascii() and part.isdigit()


def _available(node: Node) -> str:
    if isinstance(node, Mapping):
        names = [repr(k) for k, _ in node.items[:20]]
        more = f" and {len(node.items) - 20} more" if len(node.items) > 20 else ""
        return (", ".join(names) + more) or "(an empty mapping)"
    if isinstance(node, Sequence):
        return f"indexes 0 to {len(node.items) - 1}" if node.items else "(an empty list)"
    return f"nothing: it is {_describe(node)}"


def _skip_siblings(
    mapping: Mapping, kept: Key, root_path: tuple[Key, ...], skipped: list[Skipped]
) -> None:
    for item_key, value in mapping.items:
        if item_key != kept:
            skipped.append(
                Skipped(
                    _render((*root_path, item_key)),
                    _describe(value),
                    f"outside the exported {kept!r}",
                )
            )
    for name, value in mapping.attributes:
        skipped.append(
            Skipped(
                _attribute(root_path, name),
                _describe(value),
                "an attribute of the container, not an item",
            )
        )


class _Flattener:
    def __init__(self, drop_objects: bool, root_path: tuple[Key, ...], explicit_root: bool) -> None:
        self.drop_objects = drop_objects
        self.root_path = root_path
        self.explicit_root = explicit_root
        self.tensors: list[Exported] = []
        self.skipped: list[Skipped] = []
        self.unsupported: list[tuple[str, Unsupported]] = []
        self.blocked: list[tuple[str, Leaf]] = []
        self.names: dict[str, tuple[Key, ...]] = {}
        self.visits = 0

    def visit(self, node: Node, parts: tuple[str, ...], path: tuple[Key, ...]) -> None:
        self.visits += 1
        if self.visits > MAX_VISITS:
            raise UnsupportedContentError(
                f"the checkpoint flattens to more than {MAX_VISITS} values (shared containers "
                "repeated many times)",
                hint="select a sub-container with --key",
            )
        where = _render((*self.root_path, *path))
        if isinstance(node, TensorView):
            self._tensor(".".join(parts), node, path)
        elif isinstance(node, Unsupported):
            self.unsupported.append((where, node))
        elif isinstance(node, Mapping):
            if node.is_optimizer_state and (path or not self.explicit_root):
                self.skipped.append(
                    Skipped(
                        where,
                        _describe(node),
                        "optimizer state (select it with --key to convert it)",
                    )
                )
                return
            for item_key, value in node.items:
                part = _name_part(item_key)
                if part is None:
                    self._unnamed(item_key, value, path)
                    continue
                self.visit(value, (*parts, part), (*path, item_key))
            for name, value in node.attributes:
                self.skipped.append(
                    Skipped(
                        _attribute((*self.root_path, *path), name),
                        _describe(value),
                        "an attribute of the container, not an item",
                    )
                )
        elif isinstance(node, Sequence):
            for index, value in enumerate(node.items):
                self.visit(value, (*parts, str(index)), (*path, index))
        elif node.foreign and node.tensors_inside:
            if self.drop_objects:
                self.skipped.append(
                    Skipped(
                        where,
                        _describe(node),
                        "dropped "
                        "(--drop-non-tensors): an object of a class this "
                        "tool does not interpret, holding tensors",
                    )
                )
            else:
                self.blocked.append((where, node))
        else:
            reason = (
                "an object of a class this tool does not interpret"
                if node.foreign
                else "not a tensor"
            )
            self.skipped.append(Skipped(where, _describe(node), reason))

    def _unnamed(self, item_key: object, value: Node, path: tuple[Key, ...]) -> None:
        where = _render((*self.root_path, *path)) + f"[{item_key!r}]"
        holds = _holds_tensors(value)
        if holds:
            raise UnsupportedContentError(
                f"{where}: a key of type {type(item_key).__name__} cannot name a tensor",
                hint="select a sub-container with --key",
            )
        self.skipped.append(Skipped(where, _describe(value), "not a tensor"))

    def _tensor(self, name: str, view: TensorView, path: tuple[Key, ...]) -> None:
        if not name or name in RESERVED_NAMES:
            raise UnsupportedContentError(
                f"a tensor at {_render((*self.root_path, *path))} would be named {name!r}, "
                "which safetensors cannot use",
                hint="select a sub-container with --key",
            )
        previous = self.names.get(name)
        if previous is not None:
            raise UnsupportedContentError(
                f"two tensors flatten to the name {name!r}: "
                f"{_brackets((*self.root_path, *previous))} and "
                f"{_brackets((*self.root_path, *path))}",
                hint="select one of the containers with --key",
            )
        self.names[name] = path
        self.tensors.append(Exported(name, view, path))

    def finish(self) -> None:
        if self.unsupported:
            listed = "; ".join(f"{where}: {node.reason}" for where, node in self.unsupported[:5])
            more = f" (and {len(self.unsupported) - 5} more)" if len(self.unsupported) > 5 else ""
            raise UnsupportedContentError(
                f"{len(self.unsupported)} tensor(s) cannot be written as safetensors: "
                f"{listed}{more}",
                hint="convert or dequantize them with torch in a sandbox, or export another "
                "container with --key",
            )
        if self.blocked:
            where, node = self.blocked[0]
            raise UnsafeCheckpointError(
                f"{where} is an object of {node.type_name} holding {node.tensors_inside} "
                "tensor(s); reading them would mean running that class's code",
                hint="pass --drop-non-tensors to drop such objects (they are never executed), "
                "or export another container with --key",
            )


def _name_part(key: object) -> str | None:
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    return None


def _holds_tensors(node: Node) -> bool:
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (TensorView, Unsupported)):
            return True
        if isinstance(current, Leaf) and current.tensors_inside:
            return True
        if isinstance(current, Mapping):
            stack.extend(v for _, v in current.items)
        elif isinstance(current, Sequence):
            stack.extend(current.items)
    return False


def _describe(node: Node) -> str:
    if isinstance(node, TensorView):
        return f"tensor {node.dtype.torch_name}{list(node.shape)}"
    if isinstance(node, Unsupported):
        return node.kind
    if isinstance(node, Mapping):
        count = _count_tensors(node)
        return f"{node.type_name} of {len(node.items)} items" + (
            f" holding {count} tensor(s)" if count else ""
        )
    if isinstance(node, Sequence):
        count = _count_tensors(node)
        return f"{node.type_name} of {len(node.items)} items" + (
            f" holding {count} tensor(s)" if count else ""
        )
    if node.foreign and node.tensors_inside:
        return f"{node.type_name} object holding {node.tensors_inside} tensor(s)"
    return f"{node.type_name} object" if node.foreign else node.type_name


def _count_tensors(node: Node) -> int:
    stack = [node]
    seen: set[int] = set()
    count = 0
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (TensorView, Unsupported)):
            count += 1
        elif isinstance(current, Leaf):
            count += current.tensors_inside
        elif isinstance(current, Mapping):
            stack.extend(v for _, v in current.items)
        elif isinstance(current, Sequence):
            stack.extend(current.items)
    return count


def _render(path: tuple[Key, ...]) -> str:
    """A path as the keys that reach it, e.g. ``state_dict.encoder.0.weight``."""
    if not path:
        return "(root)"
    return ".".join(str(part) for part in path)


def _attribute(path: tuple[Key, ...], name: str) -> str:
    """Where an attribute set by BUILD on a container is reported (not an item name)."""
    return f"{_render(path)} [attribute {name}]" if path else f"[attribute {name}]"


def _brackets(path: tuple[Key, ...]) -> str:
    """A path as subscripts, unambiguous when keys contain dots: ``['a.b']`` vs ``['a']['b']``."""
    return "".join(f"[{part!r}]" for part in path) or "(root)"
