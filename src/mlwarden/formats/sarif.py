"""SARIF 2.1.0 output, for code-scanning dashboards (GitHub, GitLab, Azure DevOps)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from mlwarden.findings import Finding, Report, Rule, Severity
from mlwarden.taxonomy import tag_kind

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/mlwarden/mlwarden"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub maps this 0-10 score to its own critical/high/medium/low labels.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.8",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _uri(path: str) -> str:
    p = Path(path)
    try:
        rel = p.resolve().relative_to(Path.cwd().resolve())
        return quote(PurePosixPath(rel).as_posix())
    except ValueError:
        return p.resolve().as_uri() if p.is_absolute() or p.exists() else quote(path)


def _rule_dict(rule: Rule) -> dict[str, object]:
    tags = ["security", *rule.tags]
    return {
        "id": rule.id,
        "name": "".join(w.capitalize() for w in rule.title.split()[:8] if w.isalnum()),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description or rule.title},
        "help": {"text": rule.remediation, "markdown": rule.remediation},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "tags": tags,
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "cwe": [t for t in rule.tags if tag_kind(t) == "cwe"],
        },
    }


def _result(f: Finding, index: dict[str, int]) -> dict[str, object]:
    physical: dict[str, object] = {
        "artifactLocation": {"uri": _uri(f.location.path), "uriBaseId": "%SRCROOT%"}
    }
    if f.location.member is None and f.location.line is not None:
        physical["region"] = {"startLine": f.location.line}
    elif f.location.member is None and f.location.offset is not None:
        physical["region"] = {"byteOffset": f.location.offset, "byteLength": 1}
    location: dict[str, object] = {"physicalLocation": physical}
    if f.location.member is not None:
        location["logicalLocations"] = [{"fullyQualifiedName": f.location.member, "kind": "member"}]
    text = f"{f.title}. {f.evidence}"
    if f.location.member is not None:
        text += f" (in archive member {f.location.member})"
    key = f"{f.rule_id}|{f.location.path}|{f.location.member}|{f.title}"
    if f.location.field is not None:  # table columns and notebook cells; older keys unchanged
        key += f"|{f.location.field}"
    fingerprint = hashlib.sha256(key.encode()).hexdigest()
    result: dict[str, object] = {
        "ruleId": f.rule_id,
        "level": _LEVEL[f.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"mlwardenFinding/v1": fingerprint},
        "properties": {"severity": f.severity.label, "remediation": f.remediation},
    }
    if f.rule_id in index:
        result["ruleIndex"] = index[f.rule_id]
    return result


def sarif_dict(report: Report) -> dict[str, object]:
    from mlwarden.scanners.registry import all_rules

    rules = list(all_rules())
    index = {r.id: i for i, r in enumerate(rules)}
    notifications = [
        {"level": "error", "message": {"text": f"{path}: could not be scanned"}}
        for path in report.errors
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mlwarden",
                        "version": report.tool_version,
                        "semanticVersion": report.tool_version,
                        "informationUri": INFO_URI,
                        "rules": [_rule_dict(r) for r in rules],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not report.errors,
                        "startTimeUtc": report.started_at.replace("+00:00", "Z"),
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": [_result(f, index) for f in report.findings],
            }
        ],
    }


def render_sarif(report: Report) -> str:
    return json.dumps(sarif_dict(report), indent=2, ensure_ascii=False) + "\n"
