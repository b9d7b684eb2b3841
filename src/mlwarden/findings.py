"""The vocabulary every part of mlwarden speaks: rules, findings, scan reports.

Values are frozen dataclasses; behaviour lives in the scanners and services that make them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """How bad a finding is; ordered so that ``Severity.HIGH >= Severity.MEDIUM``."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Parse ``critical|high|medium|low|info`` (any case); raise ``ValueError`` otherwise."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            choices = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}; choose one of {choices}") from None


@dataclass(frozen=True)
class Rule:
    """A stable check: one id, one default severity, one sentence a user can act on."""

    id: str
    """Stable identifier such as ``MLW-PKL-001``; never reused for another meaning."""
    title: str
    """Short name of what was found."""
    severity: Severity
    """Default severity of findings of this rule."""
    remediation: str
    """What the user should do about it."""
    tags: tuple[str, ...] = ()
    """Taxonomy tags (MITRE ATLAS ids, OWASP ML Top 10, CWE)."""
    description: str = ""
    """Longer explanation, shown in SARIF rule help."""

    def finding(
        self,
        location: Location,
        evidence: str,
        *,
        severity: Severity | None = None,
        title: str | None = None,
    ) -> Finding:
        """Make a finding of this rule at ``location``."""
        return Finding(
            rule_id=self.id,
            severity=self.severity if severity is None else severity,
            title=self.title if title is None else title,
            location=location,
            evidence=evidence,
            remediation=self.remediation,
            tags=self.tags,
        )


@dataclass(frozen=True)
class Location:
    """Where a finding is: a file, optionally a member inside an archive, a byte offset."""

    path: str
    """The file as the user named it (or ``-`` for standard input)."""
    member: str | None = None
    """Member inside an archive; nested archives are joined with ``!`` (``a.zip!b.pt!data.pkl``)."""
    offset: int | None = None
    """Byte offset inside the member (or the file when ``member`` is None)."""
    line: int | None = None
    """1-based line of a text file, or 1-based data row of a table (header excluded)."""
    field: str | None = None
    """Column of a table, key path of a JSON record, or ``cell N`` of a notebook."""

    def child(self, member: str) -> Location:
        """The location of ``member`` inside this one."""
        joined = member if self.member is None else f"{self.member}!{member}"
        return Location(self.path, joined, None)

    def at(self, offset: int) -> Location:
        """The same file or member at byte ``offset``."""
        return Location(self.path, self.member, offset)

    def __str__(self) -> str:
        text = self.path
        if self.member is not None:
            text += f"!{self.member}"
        if self.offset is not None:
            text += f"@{self.offset}"
        if self.line is not None:
            text += f":{self.line}"
        if self.field is not None:
            text += f"[{self.field}]"
        return text


@dataclass(frozen=True)
class Finding:
    """One observation about an artifact."""

    rule_id: str
    severity: Severity
    title: str
    location: Location
    evidence: str
    """What in the artifact shows it (e.g. the callable ``os.system`` and its argument)."""
    remediation: str
    tags: tuple[str, ...] = ()


class ScanStatus(enum.Enum):
    """How far the scan of one file got."""

    SCANNED = "scanned"
    """Every part of the file that can carry code was analysed."""
    PARTIAL = "partial"
    """A limit was reached or part was unreadable; findings say which part was not analysed."""
    ERROR = "error"
    """The file could not be scanned at all; it is never reported as clean."""


@dataclass(frozen=True)
class FileResult:
    """The outcome of scanning one file."""

    path: str
    format: str
    """Detected format name (``pickle``, ``pytorch-zip``, ``unknown`` ...)."""
    status: ScanStatus
    size: int
    sha256: str | None
    findings: tuple[Finding, ...]
    duration_s: float

    @property
    def highest(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)


@dataclass(frozen=True)
class Report:
    """The result of one scan invocation over any number of files."""

    files: tuple[FileResult, ...]
    started_at: str
    """ISO 8601 UTC time the scan started."""
    duration_s: float
    tool_version: str
    fail_on: Severity = Severity.HIGH
    errors: tuple[str, ...] = field(default_factory=tuple)
    """Inputs that could not be opened at all (each also appears as a file with status error)."""

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.files for f in r.findings)

    @property
    def highest(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def blocking(self, threshold: Severity | None = None) -> tuple[Finding, ...]:
        """Findings at or above ``threshold`` (default: the report's ``fail_on``)."""
        limit = self.fail_on if threshold is None else threshold
        return tuple(f for f in self.findings if f.severity >= limit)

    @property
    def failed(self) -> bool:
        """True when any finding is at or above ``fail_on``: the CLI then exits with 1."""
        return bool(self.blocking())

    def counts(self) -> dict[str, int]:
        """Number of findings per severity label, highest first."""
        out = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for f in self.findings:
            out[f.severity.label] += 1
        return out
