"""Files of no recognised format: an info finding, plus a search for embedded pickles.

A pickle can hide behind other bytes (a custom header, a polyglot file) where a loader
that seeks to it would still run it. Candidate pickle starts are tried, bounded in number,
and reported only when they import something dangerous, so ordinary binaries stay quiet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mlwarden.findings import Finding, Rule, Severity
from mlwarden.scanners.base import UNKNOWN_FORMAT_RULE, Blob, ScanContext
from mlwarden.scanners.model.pickle_scanner import NOT_A_PICKLE, analyse_pickles
from mlwarden.scanners.model.pickle_vm import VALID_OPCODES

EMBEDDED_PICKLE = Rule(
    "MLW-PKL-012",
    "Dangerous pickle embedded in another file",
    Severity.HIGH,
    "Do not load this file with any pickle-based loader; find out why it carries a pickle.",
)
RULES = (EMBEDDED_PICKLE,)

_CANDIDATE = re.compile(rb"\x80[\x02-\x05][\x8c\x95()}\]NXcKJMX\x93\x94q]")
_MAX_SEARCH_BYTES = 256 << 20
_MAX_CANDIDATES = 1_000


class UnknownScanner:
    name = "unknown"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        findings, was_pickle = _probe_pickles(blob, ctx)
        if blob.depth == 0 and not was_pickle:
            findings.append(UNKNOWN_FORMAT_RULE.finding(blob.location, "no known magic bytes"))
        return findings


class EmbeddedPickleScanner:
    """The pickle search alone, for text formats: a protocol-0 pickle is plain text, and
    a loader given such a file runs it whatever its name says."""

    name = "pickle-probe"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        findings, _ = _probe_pickles(blob, ctx)
        return findings


def _probe_pickles(blob: Blob, ctx: ScanContext) -> tuple[list[Finding], bool]:
    """Findings of a lenient protocol-0/1 parse or an embedded-pickle search, and whether
    the whole blob read as a pickle."""
    data = blob.view()
    if blob.depth > 0:
        # Archive members (tensor storages, say) are data; members that are pickles are
        # recognised by their header or name before this point.
        return [], False
    if data and data[0] in VALID_OPCODES:
        # Protocol 0/1 pickles have no magic number: try one, leniently.
        found = analyse_pickles(blob, ctx, strict=False)
        if not any(f.rule_id == NOT_A_PICKLE.id for f in found):
            return found, True
    findings: list[Finding] = []
    if len(data) <= _MAX_SEARCH_BYTES:
        haystack = bytes(data)
        for n, match in enumerate(_CANDIDATE.finditer(haystack)):
            if n >= _MAX_CANDIDATES:
                break
            found = analyse_pickles(blob, ctx, match.start(), sequence=False, strict=False)
            for f in found:
                if f.severity >= Severity.HIGH:
                    findings.append(f)
            if findings:
                findings.append(
                    EMBEDDED_PICKLE.finding(
                        blob.location.at(match.start()),
                        f"a pickle stream starts {match.start()} bytes into the file",
                    )
                )
                break
    return findings, False
