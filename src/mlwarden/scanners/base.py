"""What a scanner is and what it is given.

A scanner reads a :class:`Blob` (the bytes of a file or of an archive member) and yields
findings. It never decides pass/fail and never loads the artifact with its framework.
Containers (zip, tar, compressed streams) hand their members back to the engine through
:meth:`ScanContext.scan_member`, which detects each member's format from its content.
"""

from __future__ import annotations

import mmap
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.limits import Limits
from mlwarden.taxonomy import CWE_IMPROPER_INPUT, CWE_RESOURCE_EXHAUSTION

if TYPE_CHECKING:
    from mlwarden.scanners.data.settings import DataScanSettings

Buffer = bytes | bytearray | memoryview | mmap.mmap


@dataclass(frozen=True)
class Blob:
    """Bytes to scan and where they came from.

    ``data`` is a random-access buffer: an ``mmap`` of a file (nothing is read until
    touched, so a 5 GB checkpoint costs only the pages a scanner looks at) or bytes
    decompressed from an archive member.
    """

    data: Buffer
    location: Location
    name: str
    """File or member name, used only as a hint (content decides the format)."""
    depth: int = 0
    """How many archives this blob is nested in."""

    @property
    def size(self) -> int:
        return len(self.data)

    def view(self) -> memoryview:
        return memoryview(self.data)


class LimitExceeded(Exception):
    """A scan limit was reached; the caller turns it into a finding."""

    def __init__(self, what: str, limit: int | float, fix: str) -> None:
        self.what = what
        self.limit = limit
        self.fix = fix
        super().__init__(f"{what} (limit {limit})")


class MalformedInput(Exception):
    """The bytes do not follow their format; the caller turns it into a finding."""


@dataclass
class Budget:
    """Shared, mutable resource budget for one top-level file."""

    limits: Limits
    deadline: float
    decompressed: int = 0

    def spend_decompressed(self, n: int) -> None:
        self.decompressed += n
        if self.decompressed > self.limits.max_total_decompressed:
            raise LimitExceeded(
                "total decompressed size of archive members",
                self.limits.max_total_decompressed,
                "raise limits.max_total_decompressed if the archive is trusted to be this large",
            )

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded(
                "time budget for one file",
                self.limits.max_seconds,
                "raise limits.max_seconds (--timeout) for very large artifacts",
            )


@dataclass
class ScanContext:
    """Everything a scanner may use: limits, allowlist settings, and the engine's dispatch."""

    budget: Budget
    settings: ScanSettings
    scan_member: Callable[[Blob], Iterator[Finding]]
    """Detect the format of a member and scan it (the engine's dispatcher)."""
    formats_seen: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    """Parts that could not be analysed; a non-empty list makes the file's status partial."""

    @property
    def limits(self) -> Limits:
        return self.budget.limits


@dataclass(frozen=True)
class ScanSettings:
    """User-tunable analysis settings (from configuration and CLI options)."""

    limits: Limits = field(default_factory=Limits)
    extra_allowed_globals: frozenset[str] = frozenset()
    """Extra ``module.qualname`` callables users declare safe (or ``module.*``)."""
    extra_denied_globals: frozenset[str] = frozenset()
    """Extra callables users declare dangerous (reported as critical)."""
    pii: DataScanSettings | None = None
    """Regulated-data discovery settings (severity overrides, sampling); None: defaults."""


class Scanner(Protocol):
    """One format's analyser."""

    @property
    def name(self) -> str:
        """Format name reported in results (``pickle``, ``safetensors`` ...)."""
        ...

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule this scanner can report (used for SARIF rule metadata and docs)."""
        ...

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        """Yield findings about ``blob``; raise nothing but :class:`LimitExceeded`
        and :class:`MalformedInput` (the engine reports both)."""
        ...


# Rules the engine itself reports, for every format.
LIMIT_RULE = Rule(
    id="MLW-GEN-002",
    title="Scan limit reached: part of the file was not analysed",
    severity=Severity.HIGH,
    remediation=(
        "Treat the file as unverified. If it is trusted to be this large or deep, raise the "
        "named limit and scan again."
    ),
    tags=(CWE_RESOURCE_EXHAUSTION,),
)
TEXT_MALFORMED_SEVERITY = Severity.MEDIUM
"""Severity of MALFORMED_RULE for text formats (configs, tables, notebooks, source): a
broken file there hides no code from a loader, but was not fully checked either."""

MALFORMED_RULE = Rule(
    id="MLW-GEN-003",
    title="Malformed file: its structure could not be verified",
    severity=Severity.HIGH,
    remediation=(
        "Do not load the file. A loader may still accept bytes the scanner rejects, so an "
        "unparseable file is not safe. Re-export it from its source."
    ),
    tags=(CWE_IMPROPER_INPUT,),
)
UNKNOWN_FORMAT_RULE = Rule(
    id="MLW-GEN-001",
    title="Unrecognised file format: not analysed for code",
    severity=Severity.INFO,
    remediation="Nothing to do if this is not a model file; otherwise report the format.",
)
UNREADABLE_RULE = Rule(
    id="MLW-GEN-004",
    title="File could not be read",
    severity=Severity.HIGH,
    remediation="Check the path and permissions; a file that cannot be read is not verified.",
)
ENGINE_RULES: tuple[Rule, ...] = (UNKNOWN_FORMAT_RULE, LIMIT_RULE, MALFORMED_RULE, UNREADABLE_RULE)
