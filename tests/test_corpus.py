"""The promise of `mlwarden scan`: every malicious sample flagged with the right rule,
every benign model clean, and nothing in any file ever executed."""

from __future__ import annotations

from scan_guards import AuditGuard, Corpus

import mlwarden
from mlwarden.engine import scan_paths
from mlwarden.findings import Report, Severity


def _blocking(report: Report) -> list[str]:
    return sorted({f.rule_id for f in report.findings if f.severity >= Severity.HIGH})


def test_every_malicious_sample_is_flagged_with_its_rule(built_corpus: Corpus) -> None:
    missed = []
    for sample in built_corpus.malicious:
        rules = _blocking(mlwarden.scan(str(sample.path)))
        if not any(r.startswith(sample.expect_prefix) for r in rules):
            missed.append(f"{sample.name} ({sample.technique}): got {rules}")
    assert len(built_corpus.malicious) >= 60
    assert not missed, "\n".join(missed)


def test_benign_models_raise_nothing_at_or_above_high(built_corpus: Corpus) -> None:
    noisy = []
    for sample in built_corpus.benign:
        report = mlwarden.scan(str(sample.path))
        if report.failed:
            noisy.append(f"{sample.name}: {[(f.rule_id, f.evidence) for f in report.findings]}")
    assert len(built_corpus.benign) >= 25
    assert not noisy, "\n".join(noisy)


def test_custom_classes_are_reported_as_unknown_at_medium(built_corpus: Corpus) -> None:
    unusual = [s for s in built_corpus.benign if "unknown-class" in s.tags]
    assert unusual
    for sample in unusual:
        report = mlwarden.scan(str(sample.path))
        unknown = [f for f in report.findings if f.rule_id == "MLW-PKL-004"]
        assert unknown and all(f.severity is Severity.MEDIUM for f in unknown)
        assert not report.failed


def test_one_folder_scan_covers_every_file_and_runs_nothing(
    built_corpus: Corpus, audit: AuditGuard
) -> None:
    report = scan_paths([str(built_corpus.root)])
    audit.armed = False
    scanned = {r.path for r in report.files}
    for sample in built_corpus.malicious + built_corpus.benign:
        assert str(sample.path) in scanned
    assert audit.events == []
    assert not built_corpus.marker.exists()


def test_findings_carry_location_evidence_and_taxonomy(built_corpus: Corpus) -> None:
    sample = next(s for s in built_corpus.malicious if s.name == "reduce_os_system")
    finding = next(
        f for f in mlwarden.scan(str(sample.path)).findings if f.rule_id == "MLW-PKL-001"
    )
    assert finding.severity is Severity.CRITICAL
    assert finding.location.path == str(sample.path)
    assert finding.location.offset is not None
    assert "system" in finding.evidence
    assert "CWE-502" in finding.tags
    assert any(t.startswith("AML.") for t in finding.tags)
    assert finding.remediation


def test_the_audit_guard_would_see_an_unpickle_or_exec(audit: AuditGuard) -> None:
    import pickle

    exec("1 + 1")
    pickle.loads(pickle.dumps(len))
    audit.armed = False
    assert [e for e, _ in audit.events] == ["exec", "pickle.find_class"]
