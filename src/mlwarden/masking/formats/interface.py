"""The one interface every masking file format implements."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol

from mlwarden.masking.limits import MaskLimits
from mlwarden.masking.records import RecordMasker


class MaskFormat(Protocol):
    """Reads one format in bounded chunks, masks it and writes the same format."""

    @property
    def name(self) -> str:
        """Format name used by ``--format`` (``csv``, ``jsonl``, ...)."""
        ...

    def mask(self, source: Path, sink: BinaryIO, masker: RecordMasker, limits: MaskLimits) -> int:
        """Mask ``source`` into ``sink`` and return the number of records read.

        Raises :class:`mlwarden.errors.UsageError` (naming ``source`` and the line or row)
        when the input is malformed or exceeds ``limits``.
        """
        ...
