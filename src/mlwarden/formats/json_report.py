"""The JSON report: stable, versioned (``mlwarden.report/v1``), documented in
docs/report-format.md and validated by ``mlwarden/data/report-v1.schema.json``."""

from __future__ import annotations

import json

from mlwarden.findings import FileResult, Finding, Report
from mlwarden.taxonomy import tag_kind

SCHEMA_ID = "mlwarden.report/v1"


def finding_dict(f: Finding) -> dict[str, object]:
    tags: dict[str, list[str]] = {"atlas": [], "owasp_ml": [], "cwe": [], "other": []}
    for tag in f.tags:
        tags[tag_kind(tag).replace("-", "_")].append(tag)
    return {
        "rule_id": f.rule_id,
        "severity": f.severity.label,
        "title": f.title,
        "location": {
            "path": f.location.path,
            "member": f.location.member,
            "offset": f.location.offset,
            "line": f.location.line,
            "field": f.location.field,
        },
        "evidence": f.evidence,
        "remediation": f.remediation,
        "tags": tags,
    }


def _file_dict(r: FileResult) -> dict[str, object]:
    return {
        "path": r.path,
        "format": r.format,
        "status": r.status.value,
        "size": r.size,
        "sha256": r.sha256,
        "highest": r.highest.label if r.highest is not None else None,
        "findings": len(r.findings),
        "duration_s": round(r.duration_s, 6),
    }


def report_dict(report: Report) -> dict[str, object]:
    highest = report.highest
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "mlwarden", "version": report.tool_version},
        "started_at": report.started_at,
        "duration_s": round(report.duration_s, 6),
        "fail_on": report.fail_on.label,
        "summary": {
            "files": len(report.files),
            "errors": len(report.errors),
            "partial": sum(1 for r in report.files if r.status.value == "partial"),
            "findings": report.counts(),
            "highest": highest.label if highest is not None else None,
            "verdict": "fail" if report.failed else "pass",
        },
        "files": [_file_dict(r) for r in report.files],
        "findings": [finding_dict(f) for f in report.findings],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
