"""Bounds on the work and memory one masking run may use on hostile input."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class MaskLimits:
    """Memory stays proportional to these, never to the size of the input file."""

    chunk_rows: int = 1_000
    """Rows read, classified and masked together (CSV/TSV and JSON lines)."""
    chunk_chars: int = 32 * MiB
    """A chunk is also cut when its rows hold this many characters (wide or long rows)."""
    parquet_row_group_rows: int = 65_536
    """Rows per row group written to Parquet output (and read per batch)."""
    max_line_chars: int = 16 * MiB
    """Longest physical line of a CSV/TSV or JSON-lines file."""
    max_columns: int = 10_000
    """Columns in one table."""
    max_row_group_bytes: int = 2 * GiB
    """Largest uncompressed Parquet row group read (one is held in memory at a time)."""
    cache_entries: int = 8_192
    """Recent (column, short value) results remembered, so repeated values are detected once."""
    text_block_chars: int = 1 * MiB
    """Plain text is masked a line at a time; longer lines in blocks of this size."""
    text_overlap_chars: int = 4_096
    """Characters past a block's end that detection sees, so entities are not cut in two."""
