"""Findings from what the readers counted: one per (column, entity) or per entity of text.

Evidence is always built from redacted values (:func:`redact`); the raw value never leaves
the detector. Findings are capped at ``max_findings`` per file, the rest summarised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from mlwarden.findings import Finding, Location, Severity
from mlwarden.scanners.data import rules
from mlwarden.scanners.data.entity_types import IDENTIFYING
from mlwarden.scanners.data.settings import DataScanSettings
from mlwarden.scanners.data.table_profile import TableProfile
from mlwarden.scanners.data.text_tally import TextTally


def _severity(entity: str, identified: bool, settings: DataScanSettings) -> Severity:
    return rules.severity_for(entity, identified=identified, overrides=settings.severity_overrides)


def table_findings(
    profile: TableProfile, where: Location, settings: DataScanSettings
) -> list[Finding]:
    """One finding per (column, entity) found, most severe first."""
    entities: set[str] = set()
    for _, column in profile.ordered():
        for cls in column.stats.classes(settings.min_confidence):
            if settings.entities is not None and cls.entity not in settings.entities:
                continue
            entities.add(cls.entity)
    identified = bool(entities & IDENTIFYING)
    out: list[Finding] = []
    for name, column in profile.ordered():
        stats = column.stats
        for cls in stats.classes(settings.min_confidence):
            if cls.entity not in entities:
                continue
            tally = stats.tallies[cls.entity]
            examined = (
                f"{cls.sampled} sampled values (the column has {column.non_empty})"
                if column.sampled
                else f"{cls.sampled} values"
            )
            evidence = (
                f"column {name[:80]!r}: {cls.entity} in {cls.matched} of {examined}; "
                f"column confidence {cls.confidence:.2f}, value confidence "
                f"{tally.value_confidence:.2f}; first at row {tally.first_line}: {tally.evidence}"
            )
            rule = rules.rule_for(cls.entity)
            finding = rule.finding(
                replace(where, line=tally.first_line, field=name),
                evidence,
                severity=_severity(cls.entity, identified, settings),
            )
            out.append(finding)
    return _capped(out, where, settings)


def text_findings(tally: TextTally, where: Location, settings: DataScanSettings) -> list[Finding]:
    """One finding per entity found in the file's free text."""
    identified = bool(set(tally.hits) & IDENTIFYING)
    out: list[Finding] = []
    for entity, hits in sorted(tally.hits.items()):
        place = f"line {hits.first_line}"
        if hits.first_field is not None:
            place = f"{hits.first_field}, {place}"
        evidence = (
            f"{entity}: {hits.count} occurrence{'s' if hits.count != 1 else ''}, mean "
            f"confidence {hits.confidence:.2f}; first at {place}: {hits.evidence}"
        )
        location = replace(where, line=hits.first_line, field=hits.first_field)
        out.append(
            rules.rule_for(entity).finding(
                location, evidence, severity=_severity(entity, identified, settings)
            )
        )
    return _capped(out, where, settings)


def unreadable_rows_finding(
    where: Location, count: int, first_line: int | None, what: str
) -> Finding:
    """Rows skipped because they could not be read (their content is unknown)."""
    at = f"; first at row {first_line}" if first_line is not None else ""
    return rules.UNREADABLE_ROWS.finding(
        replace(where, line=first_line), f"{count} {what} could not be read{at}"
    )


def _capped(findings: list[Finding], where: Location, settings: DataScanSettings) -> list[Finding]:
    findings.sort(key=lambda f: (-f.severity, f.rule_id))
    cap = max(1, settings.max_findings)
    if len(findings) <= cap:
        return findings
    rest = findings[cap - 1 :]
    summary = _summary(rest)
    return [
        *findings[: cap - 1],
        rules.MORE_FINDINGS.finding(
            where, f"{len(rest)} more findings not listed individually: {summary}"
        ),
    ]


def _summary(findings: Iterable[Finding]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.rule_id] = counts.get(f.rule_id, 0) + 1
    return ", ".join(f"{rule_id} x{n}" for rule_id, n in sorted(counts.items()))
