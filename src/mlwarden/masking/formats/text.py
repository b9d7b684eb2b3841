"""Plain text: masked a line at a time; very long lines in overlapping blocks."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from mlwarden.masking.formats.text_streams import TextInput, TextOutput
from mlwarden.masking.limits import MaskLimits
from mlwarden.masking.records import RecordMasker
from mlwarden.masking.text_masking import apply_replacements


class PlainTextFormat:
    """UTF-8 text (logs, notes, prompts); line endings are kept byte for byte."""

    name = "text"

    def mask(self, source: Path, sink: BinaryIO, masker: RecordMasker, limits: MaskLimits) -> int:
        text_masker = masker.text
        block = limits.text_block_chars
        overlap = limits.text_overlap_chars
        lines = 0
        with source.open("rb") as binary:
            reader = TextInput(source, binary)
            out = TextOutput(sink, bom=reader.had_bom)
            carry = ""
            while True:
                piece = reader.read_piece(block)
                buffer = carry + piece
                if not buffer:
                    break
                # readline stops short of `block` only at a line end or at the end of the file.
                if len(piece) < block or piece.endswith(("\n", "\r")):
                    out.stream.write(text_masker.mask(buffer))
                    carry = ""
                    lines += 1
                    if not piece:
                        break
                    continue
                # A line longer than a block: detection sees the whole buffer, but only the
                # part before `cut` is written now, so an entity near the block's end is
                # masked whole (the cut moves past it) or left for the next round intact.
                cut = max(len(buffer) - overlap, 1)
                replacements = text_masker.replacements(buffer)
                for r in replacements:
                    if r.start < cut < r.end:
                        cut = r.end
                done = [r for r in replacements if r.end <= cut]
                for r in done:
                    text_masker.tally.add(r.entity, r.operator)
                out.stream.write(apply_replacements(buffer[:cut], done))
                carry = buffer[cut:]
            out.finish()
        return lines
