"""LightGBM text models: ``Booster.save_model`` writes ``tree`` then ``version=v<N>``.

The model is parameters and trees as ``key=value`` lines; LightGBM parses it
in C++ and runs no Python, so identification is all a scan needs.
"""

from __future__ import annotations

import re

#: The first two lines LightGBM writes (gbdt.cpp SaveModelToString), either line ending.
_HEADER = re.compile(rb"tree\r?\nversion=v\d+\r?\n")


def is_text_model(head: bytes) -> bool:
    return _HEADER.match(head) is not None
