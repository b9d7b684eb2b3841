"""What one generated corpus file is, shared by the tests and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """One file of the generated corpus.

    ``kind`` is ``"malicious"`` or ``"benign"``. A malicious sample's payload only touches
    ``marker`` (a file path), so executing it is detectable and harmless. ``expect_prefix``
    is the rule-id prefix (e.g. ``"MLW-PKL"``) of the finding the scanner must raise at
    severity high or above; benign samples must raise nothing at or above high.
    """

    name: str
    path: Path
    kind: str
    technique: str
    expect_prefix: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
