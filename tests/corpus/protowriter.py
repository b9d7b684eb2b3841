"""A tiny protobuf wire-format encoder for hand-built TensorFlow files.

Only what the fixtures need: varint and length-delimited fields. ``msg(...)`` joins
encoded fields, so nested messages read like the .proto they follow.
"""

from __future__ import annotations

from collections.abc import Sequence


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def int_field(number: int, value: int) -> bytes:
    return key(number, 0) + varint(value)


def bytes_field(number: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return key(number, 2) + varint(len(data)) + data


def msg(*fields: bytes) -> bytes:
    return b"".join(fields)


# TensorFlow messages used by the fixtures (field numbers from tensorflow/core/framework).


def attr_string(name: str, value: str) -> bytes:
    """One ``NodeDef.attr`` map entry holding ``AttrValue.s``."""
    return bytes_field(5, msg(bytes_field(1, name), bytes_field(2, bytes_field(2, value))))


def node_def(name: str, op: str, *attrs: bytes, inputs: tuple[str, ...] = ()) -> bytes:
    return msg(
        bytes_field(1, name),
        bytes_field(2, op),
        *(bytes_field(3, i) for i in inputs),
        *attrs,
    )


def function_def(name: str, *nodes: bytes) -> bytes:
    return msg(bytes_field(1, bytes_field(1, name)), *(bytes_field(3, n) for n in nodes))


def graph_def(nodes: Sequence[bytes], functions: Sequence[bytes] = ()) -> bytes:
    library = msg(*(bytes_field(1, f) for f in functions))
    return msg(
        *(bytes_field(1, n) for n in nodes),
        bytes_field(2, library) if functions else b"",
    )


def saved_model(
    graph: bytes, *, tags: tuple[str, ...] = ("serve",), assets: tuple[str, ...] = ()
) -> bytes:
    meta_info = msg(*(bytes_field(4, t) for t in tags), bytes_field(5, "2.16.1"))
    meta_graph = msg(
        bytes_field(1, meta_info),
        bytes_field(2, graph),
        *(bytes_field(6, msg(bytes_field(2, a))) for a in assets),
    )
    return msg(int_field(1, 1), bytes_field(2, meta_graph))


def keras_metadata(*documents: str) -> bytes:
    """``keras_metadata.pb``: SavedMetadata.nodes, each with JSON in field 5."""
    return msg(
        *(
            bytes_field(
                1,
                msg(
                    int_field(2, i),
                    bytes_field(3, f"root.layer{i}"),
                    bytes_field(4, "_tf_keras_layer"),
                    bytes_field(5, doc),
                ),
            )
            for i, doc in enumerate(documents)
        )
    )
