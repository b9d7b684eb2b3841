"""Where configuration checks put their findings.

A :class:`FindingCollector` belongs to one scanned file: it turns (rule, evidence, line,
field) into findings at that file's location, drops exact repeats (the same command can
be reached twice, e.g. ``ENTRYPOINT`` + ``CMD`` and ``CMD`` alone) and stops at a bound so
a hostile file cannot make the report itself the resource problem.
:class:`CommandSite` is what a launch-command check knows about where the command runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.scanners.base import LIMIT_RULE, Budget

MAX_FINDINGS_PER_FILE = 1_000
_TICKS_PER_TIME_CHECK = 1_024


@dataclass
class FindingCollector:
    """The findings of one file, in the order they were found."""

    base: Location
    budget: Budget | None = None
    """Checked now and then by :meth:`tick`; ``None`` means no time limit (tests)."""
    findings: list[Finding] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    """Parts that were not analysed (limits, malformed documents)."""
    _seen: set[tuple[str, int | None, str | None, str]] = field(default_factory=set)
    _ticks: int = 0
    _full: bool = False

    def at(self, line: int | None, field_path: str | None = None) -> Location:
        """This file's location at ``line`` (1-based) and ``field_path``."""
        return Location(self.base.path, self.base.member, None, line, field_path)

    def add(
        self,
        rule: Rule,
        evidence: str,
        *,
        line: int | None = None,
        field_path: str | None = None,
        severity: Severity | None = None,
    ) -> None:
        """Record a finding of ``rule`` (its default severity unless ``severity`` is given)."""
        key = (rule.id, line, field_path, evidence)
        if key in self._seen or self._full:
            return
        if len(self.findings) >= MAX_FINDINGS_PER_FILE:
            self._full = True
            self.incomplete.append("finding limit")
            self.findings.append(
                LIMIT_RULE.finding(
                    self.at(line),
                    f"more than {MAX_FINDINGS_PER_FILE} findings; the rest of the file was "
                    "not reported. Fix the reported items and scan again",
                )
            )
            return
        self._seen.add(key)
        self.findings.append(rule.finding(self.at(line, field_path), evidence, severity=severity))

    def adopt(self, finding: Finding) -> None:
        """Record a finding made elsewhere (a file embedded in this one), with the same
        de-duplication and bound as :meth:`add`."""
        loc = finding.location
        key = (finding.rule_id, loc.line, loc.field, finding.evidence)
        if key in self._seen or self._full or len(self.findings) >= MAX_FINDINGS_PER_FILE:
            return
        self._seen.add(key)
        self.findings.append(finding)

    def limit(self, what: str, evidence: str, *, line: int | None = None) -> None:
        """Report that ``what`` could not be analysed because a bound was reached."""
        self.incomplete.append(what)
        self.findings.append(LIMIT_RULE.finding(self.at(line), evidence))

    def tick(self) -> None:
        """Count one unit of work; every so often, enforce the file's time budget."""
        self._ticks += 1
        if self.budget is not None and self._ticks % _TICKS_PER_TIME_CHECK == 0:
            self.budget.check_time()


@dataclass(frozen=True)
class CommandSite:
    """Where a launch command was found and what is known around it."""

    collector: FindingCollector
    line: int | None
    field_path: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    """Environment variables known to be set for the command (literal values only)."""
    in_container: bool = False
    """True for Dockerfiles, Kubernetes and Compose: the process is a container's main one."""

    def report(self, rule: Rule, evidence: str, severity: Severity | None = None) -> None:
        self.collector.add(
            rule, evidence, line=self.line, field_path=self.field_path, severity=severity
        )

    def with_env(self, extra: Mapping[str, str]) -> CommandSite:
        """The same site with ``extra`` variables set on top of the known ones."""
        if not extra:
            return self
        return CommandSite(
            self.collector, self.line, self.field_path, {**self.env, **extra}, self.in_container
        )

    def at_line(self, line: int | None) -> CommandSite:
        return CommandSite(self.collector, line, self.field_path, self.env, self.in_container)
