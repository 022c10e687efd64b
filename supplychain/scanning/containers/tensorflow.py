"""TensorFlow SavedModel and GraphDef: graph ops that reach Python, files, processes or the network.

A graph runs no Python by itself, but some ops call back into the loading
process (PyFunc), read or write any file (ReadFile, WriteFile) or talk to
the network. The reviewed op list is ``data/tensorflow_ops.json``; one
finding per op, naming the nodes that use it. A TF-Keras SavedModel also
keeps each layer's Keras config in ``keras_metadata.pb``, which goes through
the Keras config checks.
"""

from __future__ import annotations

from collections import defaultdict

from supplychain.formats import keras, tensorflow
from supplychain.formats.sniff import Format
from supplychain.scanning.blob import Blob
from supplychain.scanning.containers._base import RULE_CONTAINER, read_structure
from supplychain.scanning.containers._data import reviewed_table
from supplychain.scanning.containers.keras import report_config
from supplychain.scanning.results import Finding, Severity
from supplychain.scanning.scanner import FileScan

RULE_TF_OP = "tensorflow.dangerous-op"
#: Node names quoted per finding (the count says how many there are).
MAX_NAMED_NODES = 5


def scan_keras_metadata(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """TF-Keras ``keras_metadata.pb``: load_model revives every layer from its JSON config."""
    objects = read_structure(
        scan,
        blob,
        "Keras metadata",
        lambda handle: tensorflow.read_keras_metadata(handle, blob.size or 0),
        tensorflow.TensorflowLimit,
        tensorflow.TensorflowFormatError,
    )
    if objects is None:
        return
    for item in objects:
        where = f"{blob.location or blob.name}:{item.path or '?'}"
        try:
            config = keras.parse_config(item.metadata, where)
        except keras.KerasFormatError as exc:
            scan.add(Finding(RULE_CONTAINER, Severity.MEDIUM, f"Keras metadata: {exc}", where))
            scan.could_not_scan(blob, f"Keras metadata unreadable: {exc}")
            continue
        report_config(scan, blob, config, where)


def scan_tensorflow(scan: FileScan, blob: Blob, kind: Format, head: bytes) -> None:
    """Walk every node (graph and function library) and flag the reviewed ops."""
    graph = read_structure(
        scan,
        blob,
        "TensorFlow graph",
        lambda handle: tensorflow.read_graph(handle, blob.size, head),
        tensorflow.TensorflowLimit,
        tensorflow.TensorflowFormatError,
    )
    if graph is None:
        return
    ops = reviewed_table("tensorflow_ops.json")["ops"]
    users: defaultdict[str, list[str]] = defaultdict(list)
    for use in graph.nodes:
        if use.op in ops:
            where = f"{use.function}/{use.node}" if use.function else use.node
            users[use.op].append(where)
    for op in sorted(users):
        entry, nodes = ops[op], users[op]
        named = ", ".join(repr(n) for n in nodes[:MAX_NAMED_NODES])
        more = f" and {len(nodes) - MAX_NAMED_NODES} more" if len(nodes) > MAX_NAMED_NODES else ""
        scan.add(
            Finding(
                RULE_TF_OP,
                Severity(entry["severity"]),
                f"TensorFlow op {op} ({len(nodes)} node(s): {named}{more}) {entry['why']}; "
                "remove the op from the exported graph or load it only in a sandbox",
                blob.location,
            )
        )
