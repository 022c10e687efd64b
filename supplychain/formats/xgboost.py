"""XGBoost model files by structure: UBJSON (``.ubj``) and the legacy binary format.

Both are pure data (trees and parameters); ``Booster.load_model`` runs no
Python. UBJSON starts with ``{`` like JSON, so it is told apart by its first
key, which carries a UBJSON length marker where JSON has a quote. The legacy
binary (``save_raw('deprecated')``, XGBoost < 2) is an optional ``binf``
prefix, a 136-byte ``LearnerModelParamLegacy``, then the objective and booster
names as dmlc strings (little-endian uint64 length, bytes).
"""

from __future__ import annotations

import re

#: Keys XGBoost writes first at the top of a UBJSON model.
_UBJ_FIRST_KEYS = frozenset({b"learner", b"version"})
#: UBJSON integer markers that may prefix a key's length, with their byte widths.
_UBJ_LENGTH = {ord("i"): 1, ord("U"): 1, ord("I"): 2, ord("l"): 4, ord("L"): 8}
#: sizeof(LearnerModelParamLegacy): XGBoost static_asserts it.
_LEGACY_PARAM_SIZE = 136
#: Boosters the legacy format names (gbm/gbm.cc registry).
_LEGACY_BOOSTERS = frozenset({b"gbtree", b"gblinear", b"dart"})
#: Objective names are short registry keys such as ``binary:logistic``.
_OBJECTIVE = re.compile(rb"[a-z][a-z_:\-@0-9]{0,63}")
_MAX_NAME = 64


def is_ubjson_model(head: bytes) -> bool:
    """``{`` then a UBJSON-length-prefixed first key XGBoost writes (``learner``/``version``)."""
    if len(head) < 3 or head[0:1] != b"{" or head[1] not in _UBJ_LENGTH:
        return False
    width = _UBJ_LENGTH[head[1]]
    length = int.from_bytes(head[2 : 2 + width], "big", signed=head[1] != ord("U"))
    start = 2 + width
    return 0 < length <= 16 and head[start : start + length] in _UBJ_FIRST_KEYS


def is_legacy_binary(head: bytes) -> bool:
    """The parameter block, then a plausible objective name and a known booster name."""
    offset = 4 if head.startswith(b"binf") else 0
    offset += _LEGACY_PARAM_SIZE
    objective, offset = _dmlc_string(head, offset)
    if objective is None or _OBJECTIVE.fullmatch(objective) is None:
        return False
    booster, _ = _dmlc_string(head, offset)
    return booster in _LEGACY_BOOSTERS


def _dmlc_string(head: bytes, offset: int) -> tuple[bytes | None, int]:
    if len(head) < offset + 8:
        return None, offset
    length = int.from_bytes(head[offset : offset + 8], "little")
    start = offset + 8
    if not 0 < length <= _MAX_NAME or len(head) < start + length:
        return None, offset
    return head[start : start + length], start + length
