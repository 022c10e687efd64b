"""Recording stubs for running CPython's unpicklers on hostile streams in tests.

``find_class`` returns a fresh stub class per name, never a real callable:
calling it, ``__new__`` on it (NEWOBJ) or using its instances (BUILD,
SETITEM, APPEND, ADDITEMS) only records. Stubs for a few safe builtin types
subclass the plain type so they behave like it.
"""

from __future__ import annotations

import contextlib
import io
import pickle
from typing import Any, ClassVar


class _Log:
    """What one unpickler run imported and called (qualified names)."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.called: list[str] = []


class _StubObject:
    """An instance made by a stub: accepts every protocol an unpickler may use on it."""

    _log: ClassVar[_Log]
    _name: ClassVar[str]

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        cls._log.called.append(cls._name)
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass

    def add(self, value: Any) -> None:
        pass


#: Stubs for safe names also behave like the plain type they stand for.
_PLAIN = {"builtins.list": list, "builtins.dict": dict, "builtins.bytearray": bytearray}


def _stub_class(log: _Log, qualified: str) -> type:
    plain = _PLAIN.get(qualified)
    if plain is None:
        return type("Stub", (_StubObject,), {"_log": log, "_name": qualified})

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        log.called.append(qualified)
        return plain.__new__(cls)

    return type("PlainStub", (plain,), {"__new__": new})


def _unpicklers(log: _Log) -> list[type]:
    def find_class(self: Any, module: str, name: str) -> type:
        if not module or not name:
            raise ValueError("empty name")  # what find_class's __import__/getattr does
        log.found.append(f"{module}.{name}")
        return _stub_class(log, f"{module}.{name}")

    return [
        type("CStub", (pickle.Unpickler,), {"find_class": find_class}),
        type("PyStub", (pickle._Unpickler,), {"find_class": find_class}),  # type: ignore[attr-defined]
    ]


def loader_reaches(data: bytes) -> list[str]:
    """Globals either unpickler imports or calls (each run records into its own log)."""
    reached: list[str] = []
    for index in range(2):
        log = _Log()
        unpickler = _unpicklers(log)[index]
        # the outcome does not matter, only what ran before it
        with contextlib.suppress(Exception):
            unpickler(io.BytesIO(data)).load()
        reached.extend(log.found + log.called)
    return reached


def outcomes(data: bytes) -> tuple[str, str]:
    """``"ok"`` or the exception name, for the C and the Python unpickler."""
    results = []
    for index in range(2):
        unpickler = _unpicklers(_Log())[index]
        try:
            unpickler(io.BytesIO(data)).load()
            results.append("ok")
        except Exception as exc:  # what a loader raises is the point of the comparison
            results.append(type(exc).__name__)
    return results[0], results[1]


def c_value(data: bytes) -> Any:
    """What ``_pickle`` returns for ``data`` (imports only stubs)."""
    return _unpicklers(_Log())[0](io.BytesIO(data)).load()
