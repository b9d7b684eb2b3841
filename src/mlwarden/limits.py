"""Bounds on the work a scan may do on hostile input.

Every parser takes its limits from here; reaching one is reported as a finding that says
which limit and how to raise it, never as a crash, a hang or an out-of-memory kill.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    """Resource limits for one file's scan (all archive members included)."""

    max_pickle_bytes: int = 2 * GiB
    """Longest single pickle stream analysed."""
    max_opcodes: int = 20_000_000
    """Opcodes interpreted per pickle stream."""
    max_memo: int = 2_000_000
    """Memo entries per pickle stream."""
    max_stack: int = 2_000_000
    """Items on the abstract pickle stack (all nesting levels together)."""
    max_nesting: int = 10_000
    """Nested MARK levels in a pickle, or nested containers in a JSON document."""
    max_pickles_per_stream: int = 1_000
    """Pickles read back to back from one stream."""
    max_member_bytes: int = 2 * GiB
    """Largest decompressed size of one archive member that is read."""
    max_total_decompressed: int = 8 * GiB
    """Decompressed bytes per scanned file, all members together (zip-bomb guard)."""
    max_compression_ratio: int = 1_000
    """Decompressed/compressed ratio above which a member is treated as a bomb."""
    max_members: int = 200_000
    """Archive members per archive."""
    max_archive_depth: int = 6
    """Archives nested inside archives."""
    max_metadata_bytes: int = 256 * MiB
    """Largest header or config document (safetensors, GGUF, Keras, ONNX) parsed."""
    max_seconds: float = 300.0
    """Wall-clock budget per top-level file."""
    max_stdin_bytes: int = 8 * GiB
    """Bytes accepted from standard input."""
