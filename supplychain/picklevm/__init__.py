"""The one pickle engine: what a pickle would do when loaded, without importing or calling anything.

Scanner and converter both read pickles through this package, so they can
never disagree about what a file contains.

Reading a pickle::

    from supplychain.picklevm import parse, Source, ParseOptions, ALL_FRAMES

    result = parse(Source.from_file(handle, start=offset, length=size),
                   ParseOptions(exact_frames=ALL_FRAMES))   # torch reads data.pkl via BytesIO

``result`` is a :class:`PickleResult`: ``outcome`` (COMPLETE, ERROR,
TRUNCATED or LIMIT: an incomplete parse still lists everything that ran
before the break), ``value`` (what ``load()`` would return, as an inert
graph), every ``globals`` lookup, every ``calls`` entry in execution order,
``builds``, ``mutations`` of imported objects, ``persistent_refs``,
``large`` byte strings left in the file, ``embedded`` pickle-looking strings
and ``anomalies`` (frame straddles, out-of-band buffers, places where the two
CPython unpicklers differ). Where both of them would go on, the machine goes
on; an ERROR says whether both really raise there (``error.certain``), and
``tail`` lists what the rest of the stream imports and calls, read opcode by
opcode, for a loader that goes on. The machine is bounded by :class:`Limits`.

The graph: Python scalars, str, bytes, tuples, lists, dicts, sets stand for
themselves; a :class:`Global` is a name ``find_class`` would import
(``module``, ``name`` after Python-2 mapping; ``qualified`` is the allowlist
key; ``unresolved`` says why a name could not be known); a :class:`Call` is
``callee`` applied to ``args`` (``kind`` REDUCE/NEWOBJ/NEWOBJ_EX/OBJ/INST;
``target`` is the Global when the callee is one, else
``unresolved_reason()``), with the SETITEMS/APPENDS/ADDITEMS/BUILD applied
to its result logged on it (``setitems``, ``appends``, ``additems``,
``states``); a :class:`PersistentRef` holds the ``pid`` passed to
``persistent_load``; a :class:`LargeBytes` is an ``(offset, length)`` range
of the source (``head`` holds its first bytes). Identity is preserved
through the memo: two references to one memo entry are the same object.

For the converter (torch checkpoints)::

    top = result.value    # a dict (plain state_dict), or Call(collections.OrderedDict) whose
                          # entries are top.setitems: [(name, value), ...] in file order
    for name, node in entries:
        # node: Call with node.target.qualified == "torch._utils._rebuild_tensor_v2"
        storage, offset, size, stride, requires_grad, hooks, *metadata = node.args
        # storage: PersistentRef; storage.pid == ("storage", Global(torch.FloatStorage),
        #          "0", "cpu", numel)  -> zip record "<prefix>data/0" (formats.torch layout)
        # _rebuild_tensor_v3 adds the dtype as a Global (torch.float8_e4m3fn ...)
        # _rebuild_parameter(tensor_call, requires_grad, hooks) wraps a tensor call
    # tied weights: the same Call object appears under two names (memo identity), or two
    # calls name the same storage key

Storage bytes: :mod:`supplychain.formats.torch` maps keys to file offsets
(``torch_zip_layout(read_zip(f)).records[key].data_offset``, or
``read_legacy(...).storages`` for legacy files) without reading them. Read
zip checkpoints' ``data.pkl`` with ``ParseOptions(exact_frames=ALL_FRAMES,
encoding="utf-8")`` (torch reads it through ``io.BytesIO`` and decodes
Python-2 strings as UTF-8) and legacy files with ``encoding="utf-8"``; refuse
a file whose ``parse_all_readings`` gives more than one reading.

Interpret only calls whose ``target.qualified`` you recognise, and refuse the
file when any other call sits on the path to a tensor. Use
:func:`parse_all_readings` when you need to know whether FRAME opcodes let
loaders read the stream differently (a clean pickle yields one result).
"""

from __future__ import annotations

from supplychain.picklevm.machine import parse, parse_all_readings
from supplychain.picklevm.names import looks_like_pickle, map_python2_name
from supplychain.picklevm.nodes import (
    Call,
    CallKind,
    Global,
    LargeBytes,
    Opaque,
    OutOfBandBuffer,
    PersistentRef,
)
from supplychain.picklevm.opcodes import opcode_name
from supplychain.picklevm.results import (
    ALL_FRAMES,
    NO_FRAMES,
    Anomaly,
    BuildEvent,
    BuildHook,
    Embedded,
    HookContext,
    HookError,
    Limits,
    Mutation,
    Outcome,
    ParseOptions,
    PickleError,
    PickleResult,
    TailOp,
)
from supplychain.picklevm.source import Source, SourceError

__all__ = [
    "ALL_FRAMES",
    "NO_FRAMES",
    "Anomaly",
    "BuildEvent",
    "BuildHook",
    "Call",
    "CallKind",
    "Embedded",
    "Global",
    "HookContext",
    "HookError",
    "LargeBytes",
    "Limits",
    "Mutation",
    "Opaque",
    "OutOfBandBuffer",
    "Outcome",
    "ParseOptions",
    "PersistentRef",
    "PickleError",
    "PickleResult",
    "Source",
    "SourceError",
    "TailOp",
    "looks_like_pickle",
    "map_python2_name",
    "opcode_name",
    "parse",
    "parse_all_readings",
]
