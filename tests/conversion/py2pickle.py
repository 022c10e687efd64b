"""Byte-faithful reproductions of what Python 2 + old torch wrote (no Python 2 needed).

:class:`Py2Pickler` follows Python 2.7's ``pickle.Pickler`` (protocol 2) opcode for
opcode: ``str`` as SHORT_BINSTRING/BINSTRING, ``unicode`` as BINUNICODE, ints as
BININT1/BININT2/BININT, longs as LONG1, every container and GLOBAL memoized with
BINPUT from index 0 (``memo_start=1`` gives cPickle's numbering), lists and dicts
filled by MARK ... APPENDS/SETITEMS in batches of 1000 (APPEND/SETITEM for one item),
tuples of up to three items as TUPLE1/2/3, a ``__reduce__`` as REDUCE then BUILD.

The objects are the ones old torch pickled:

- :func:`py2_ordered_dict`: Python 2's ``OrderedDict.__reduce__`` returned
  ``(OrderedDict, ([[key, value], ...],), inst_dict)``: a REDUCE with a *list of
  [key, value] lists*, then BUILD ``{'_metadata': ...}`` when the state dict
  had one (torch >= 0.4);
- :func:`tensor_v2` (torch 0.4-1.x ``Tensor.__reduce_ex__``), :func:`tensor_v1`
  (torch 0.2/0.3 ``_rebuild_tensor``), both over a legacy storage persistent id
  ``('storage', torch.FloatStorage, '<address>', 'cpu', numel, None)``;
- :func:`legacy_file`: torch's legacy container (magic, protocol 1001,
  sys_info, the object, the sorted storage keys, then each storage as an int64
  element count and its bytes), every pickle written by the same pickler kind.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field
from typing import Any

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


class Py2Str(bytes):
    """A Python 2 ``str`` (bytes; state-dict keys, 'storage', 'cpu')."""


class Py2Int(int):
    """A Python 2 ``int`` too big for BININT (``id(p)`` on 64 bits): pickled as text ``INT``."""


@dataclass(frozen=True, eq=False)
class Global:
    module: str
    name: str


@dataclass(eq=False)
class Reduce:
    """An object whose ``__reduce__`` gave ``(func, args[, state])``."""

    func: Global
    args: tuple[Any, ...]
    state: Any = None


@dataclass(eq=False)
class NewObj:
    """An object pickled by ``copy_reg.__reduce_ex__``: ``cls.__new__(cls, *args)``, BUILD."""

    cls: Global
    args: tuple[Any, ...]
    state: Any = None


@dataclass(eq=False)
class Storage:
    """A storage, pickled through ``persistent_id``."""

    storage_class: str
    key: str
    data: bytes
    itemsize: int
    location: str = "cpu"

    @property
    def numel(self) -> int:
        return len(self.data) // self.itemsize


@dataclass(eq=False)
class StorageView:
    """Old torch's storage view: ``view_metadata = (view_key, offset, size)`` on the root's id."""

    root: Storage
    key: str
    offset: int
    size: int


@dataclass
class Py2Pickler:
    memo_start: int = 0
    out: bytearray = field(default_factory=bytearray)
    memo: dict[int, int] = field(default_factory=dict)
    keep: list[Any] = field(default_factory=list)
    #: Storages seen, by key (legacy torch writes them after the pickle).
    storages: dict[str, Storage] = field(default_factory=dict)
    #: Python 2 interns short literal strings: one object per value, memoized once.
    interned: dict[bytes, Py2Str] = field(default_factory=dict)

    def dump(self, obj: Any) -> bytes:
        """One ``pickle.dump``: a fresh memo, as Python 2 gives each call a new Pickler."""
        self.memo.clear()
        self.out += b"\x80\x02"
        self.save(obj)
        self.out += b"."
        data = bytes(self.out)
        self.out.clear()
        return data

    def intern(self, text: str) -> Py2Str:
        raw = text.encode("latin-1")
        return self.interned.setdefault(raw, Py2Str(raw))

    # -- memo ----------------------------------------------------------------------------------
    def memoize(self, obj: Any) -> None:
        index = len(self.memo) + self.memo_start
        self.memo[id(obj)] = index
        self.keep.append(obj)
        self.out += b"q" + bytes([index]) if index < 256 else b"r" + struct.pack("<I", index)

    def get(self, obj: Any) -> bool:
        index = self.memo.get(id(obj))
        if index is None:
            return False
        self.out += b"h" + bytes([index]) if index < 256 else b"j" + struct.pack("<I", index)
        return True

    # -- values --------------------------------------------------------------------------------
    def save(self, obj: Any) -> None:
        if isinstance(obj, StorageView):
            root = obj.root
            self.storages[root.key] = root
            view = (self.intern(obj.key), obj.offset, obj.size)
            pid = (
                self.intern("storage"),
                global_("torch", root.storage_class),
                self.intern(root.key),
                self.intern(root.location),
                root.numel,
                view,
            )
            self.save(pid)
            self.out += b"Q"
            return
        if isinstance(obj, Storage):
            self.storages[obj.key] = obj
            pid = (
                self.intern("storage"),
                global_("torch", obj.storage_class),
                self.intern(obj.key),
                self.intern(obj.location),
                obj.numel,
                None,
            )
            self.save(pid)
            self.out += b"Q"
            return
        if obj is None:
            self.out += b"N"
        elif obj is True or obj is False:
            self.out += b"\x88" if obj else b"\x89"
        elif isinstance(obj, int):
            self.save_int(obj)
        elif isinstance(obj, float):
            self.out += b"G" + struct.pack(">d", obj)
        elif self.get(obj):
            return
        elif isinstance(obj, Py2Str):
            head = (
                b"U" + bytes([len(obj)]) if len(obj) < 256 else b"T" + struct.pack("<i", len(obj))
            )
            self.out += head + bytes(obj)
            self.memoize(obj)
        elif isinstance(obj, str):  # a Python 2 unicode
            data = obj.encode("utf-8")
            self.out += b"X" + struct.pack("<I", len(data)) + data
            self.memoize(obj)
        elif isinstance(obj, tuple):
            self.save_tuple(obj)
        elif isinstance(obj, list):
            self.out += b"]"
            self.memoize(obj)
            self.batch(obj, b"a", b"e")
        elif isinstance(obj, dict):
            self.out += b"}"
            self.memoize(obj)
            self.batch([kv for pair in obj.items() for kv in pair], b"s", b"u", step=2)
        elif isinstance(obj, Global):
            self.out += b"c" + obj.module.encode() + b"\n" + obj.name.encode() + b"\n"
            self.memoize(obj)
        elif isinstance(obj, NewObj):
            self.save(obj.cls)
            self.save(obj.args)
            self.out += b"\x81"
            self.memoize(obj)
            if obj.state is not None:
                self.save(obj.state)
                self.out += b"b"
        elif isinstance(obj, Reduce):
            self.save(obj.func)
            self.save(obj.args)
            self.out += b"R"
            self.memoize(obj)
            if obj.state is not None:
                self.save(obj.state)
                self.out += b"b"
        else:
            raise TypeError(type(obj))

    def save_int(self, value: int) -> None:
        if 0 <= value <= 0xFF:
            self.out += b"K" + bytes([value])
        elif 0 <= value <= 0xFFFF:
            self.out += b"M" + struct.pack("<H", value)
        elif -(2**31) <= value < 2**31:
            self.out += b"J" + struct.pack("<i", value)
        elif isinstance(value, Py2Int):  # a 64-bit Python 2 int: the text INT opcode
            self.out += b"I" + str(int(value)).encode() + b"\n"
        else:  # a Python 2 long
            data = _encode_long(value)
            self.out += b"\x8a" + bytes([len(data)]) + data

    def save_tuple(self, obj: tuple[Any, ...]) -> None:
        if not obj:
            self.out += b")"
            return
        if len(obj) <= 3:
            for item in obj:
                self.save(item)
            if self.get(obj):  # recursive tuple: POP the items, GET the memo
                return
            self.out += b"\x85\x86\x87"[len(obj) - 1 : len(obj)]
            self.memoize(obj)
            return
        self.out += b"("
        for item in obj:
            self.save(item)
        self.out += b"t"
        self.memoize(obj)

    def batch(self, items: list[Any], one: bytes, many: bytes, step: int = 1) -> None:
        for start in range(0, len(items), 1000 * step):
            chunk = items[start : start + 1000 * step]
            if len(chunk) == step:
                for item in chunk:
                    self.save(item)
                self.out += one
            else:
                self.out += b"("
                for item in chunk:
                    self.save(item)
                self.out += many


def _encode_long(value: int) -> bytes:
    """Python 2's ``pickle.encode_long``: little-endian two's complement, minimal length."""
    if value == 0:
        return b""
    length = (value.bit_length() + 8) // 8
    data = value.to_bytes(length, "little", signed=True)
    if value < 0 and len(data) > 1 and data[-1] == 0xFF and data[-2] & 0x80:
        data = data[:-1]
    return data


# -- what old torch pickled ---------------------------------------------------------------------
@functools.cache
def global_(module: str, name: str) -> Global:
    """One object per class or function, as in Python (so the memo GETs it the second time)."""
    return Global(module, name)


ORDERED_DICT = global_("collections", "OrderedDict")


def py2_ordered_dict(
    pickler: Py2Pickler,
    items: list[tuple[str, Any]],
    metadata: Any = None,
    *,
    pairs: type = list,
) -> Reduce:
    """Python 2.7 ``OrderedDict.__reduce__``: ``(OrderedDict, ([[k, v], ...],)[, inst_dict])``."""
    listed = [pairs([pickler.intern(k), v]) for k, v in items]
    state = {pickler.intern("_metadata"): metadata} if metadata is not None else None
    return Reduce(ORDERED_DICT, (listed,), state)


def tensor_v2(
    storage: Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]
) -> Reduce:
    """torch 0.4-1.x: ``_rebuild_tensor_v2(storage, offset, size, stride, grad, hooks)``."""
    hooks = Reduce(ORDERED_DICT, ([],))
    return Reduce(
        global_("torch._utils", "_rebuild_tensor_v2"),
        (storage, offset, size, stride, False, hooks),
    )


def tensor_v0(
    storage: Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]
) -> NewObj:
    """torch 0.1: no ``__reduce__``; ``copy_reg`` pickled ``FloatTensor.__new__`` + BUILD state."""
    tensor_class = storage.storage_class.replace("Storage", "Tensor")
    return NewObj(global_("torch", tensor_class), (), (storage, offset, size, stride))


def tensor_v1(
    storage: Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]
) -> Reduce:
    """torch 0.2/0.3: ``_rebuild_tensor(storage, offset, size, stride)``."""
    return Reduce(global_("torch._utils", "_rebuild_tensor"), (storage, offset, size, stride))


def legacy_file(pickler: Py2Pickler, obj: Any, *, little_endian: bool = True) -> bytes:
    """torch's legacy (pre-1.6) container, as ``torch.save`` wrote it under Python 2."""
    sys_info = {
        pickler.intern("protocol_version"): PROTOCOL_VERSION,
        pickler.intern("little_endian"): little_endian,
        pickler.intern("type_sizes"): {
            pickler.intern("short"): 2,
            pickler.intern("int"): 4,
            pickler.intern("long"): 8,
        },
    }
    parts = [pickler.dump(MAGIC_NUMBER), pickler.dump(PROTOCOL_VERSION), pickler.dump(sys_info)]
    parts.append(pickler.dump(obj))
    keys = sorted(pickler.storages)
    parts.append(pickler.dump([pickler.intern(k) for k in keys]))
    for key in keys:
        storage = pickler.storages[key]
        parts.append(struct.pack("<q", storage.numel) + storage.data)
    return b"".join(parts)
