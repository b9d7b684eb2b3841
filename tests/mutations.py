"""Byte-level mutations for property tests of parsers (shared by the fuzz tests)."""

from __future__ import annotations

from hypothesis import strategies as st

# Large counts and lengths are the interesting values for binary formats.
_BOUNDARY = [0, 1, 0x7F, 0xFF, 0xFFFF, 2**31, 2**32 - 1, 2**63]


def mutate(draw: st.DrawFn, seed: bytes, max_ops: int = 8) -> bytes:
    """Flip, insert, delete, truncate or splice boundary integers into ``seed``."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[pos:]
        elif op == "splice" and len(data) > 8:
            data[pos : pos + 8] = draw(st.sampled_from(_BOUNDARY)).to_bytes(8, "little")
    return bytes(data)
