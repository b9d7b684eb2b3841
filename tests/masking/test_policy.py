"""Masking policies: the shipped example, validation errors (file, line, fix), precedence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlwarden.errors import ConfigError
from mlwarden.masking.policy import load_policy
from mlwarden.masking.policy_yaml import MAX_POLICY_BYTES

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "masking-policy.yaml"

WritePolicy = Callable[..., Path]


def test_shipped_example_policy_is_valid_and_selects_datasets() -> None:
    policy = load_policy(EXAMPLE)
    claims = policy.rules_for("exports/claims/2026-01.parquet")
    assert claims.dataset == "claims"
    assert claims.column_action("member_id") is not None
    assert claims.column_action("member_id").options == {"domain": "claims"}  # type: ignore[union-attr]
    assert policy.rules_for("claims_q1.csv").dataset == "claims"
    assert policy.rules_for("customers.csv").dataset is None
    assert policy.rules_for("customers.csv", dataset="chat_logs").dataset == "chat_logs"
    assert policy.rules_for("chat.jsonl").detection.min_confidence == 0.4


def _error(write_policy: WritePolicy, text: str) -> ConfigError:
    path = write_policy(text)
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    return caught.value


@pytest.mark.parametrize(
    ("text", "line", "problem", "fix"),
    [
        ("version: 1\ncolums: []\n", 2, "unknown key 'colums'", "columns"),
        (
            "version: 1\ncolumns:\n  - match: ssn\n    operator: hash\n",
            3,
            "unknown operator 'hash'",
            "pseudonym",
        ),
        (
            "version: 1\ncolumns:\n  - match: ssn\n    operator: partial\n    keep_lats: 4\n",
            5,
            "has no option 'keep_lats'",
            "keep_last",
        ),
        (
            "version: 1\ncolumns:\n  - match: ssn\n    operator: partial\n    keep_last: four\n",
            5,
            "expected int",
            "fix",
        ),
        (
            "version: 1\ncolumns:\n  - match: x\n    operator: pseudonym\n    length: 4\n",
            5,
            "between 8 and 32",
            "fix",
        ),
        ("version: 1\nentities:\n  email: drop\n", 3, "applies to columns", "redact"),
        ("version: 1\ncolumns:\n  - operator: redact\n", 3, "needs 'match'", "match"),
        ("version: 2\n", 1, "unsupported or missing version", "version: 1"),
        ("columns: []\n", 1, "missing version", "version: 1"),
        (
            "version: 1\ndetection:\n  min_confidence: 3\n",
            3,
            "between 0 and 1",
            "0.5",
        ),
        ("version: 1\ndetection:\n  enabled: 'yes'\n", 3, "expected true/false", "fix"),
        ("version: 1\ncolumns:\n  - match: [a, 3]\n    operator: keep\n", 3, "list of text", ""),
        ("version: 1\ndatasets:\n  x:\n    files: a.csv\n    colums: []\n", 5, "colums", ""),
    ],
)
def test_validation_errors_name_file_line_problem_and_fix(
    write_policy: WritePolicy, text: str, line: int, problem: str, fix: str
) -> None:
    error = _error(write_policy, text)
    assert error.subject.endswith(f"policy.yaml:{line}"), error.subject
    assert problem in error.problem
    assert fix in error.fix


def test_duplicate_keys_are_refused_with_both_lines(write_policy: WritePolicy) -> None:
    error = _error(
        write_policy, "version: 1\nentities:\n  email: redact\n  phone: redact\n  email: keep\n"
    )
    assert error.subject.endswith(":5")
    assert "first on line 3" in error.problem


def test_anchors_and_aliases_are_refused(write_policy: WritePolicy) -> None:
    text = "version: 1\nentities:\n  email: &r {operator: redact}\n  phone: *r\n"
    error = _error(write_policy, text)
    assert "anchors and aliases" in error.problem
    assert error.subject.endswith(":3")


def test_yaml_syntax_errors_carry_the_line(write_policy: WritePolicy) -> None:
    error = _error(write_policy, "version: 1\ncolumns:\n  - match: [a\n    operator: keep\n")
    assert "not valid YAML" in error.problem
    assert ":" in error.subject.rsplit("policy.yaml", 1)[1]


def test_unsafe_yaml_tags_are_refused(write_policy: WritePolicy) -> None:
    error = _error(write_policy, "version: !!python/object/apply:os.system ['true']\n")
    assert "not valid YAML" in error.problem


def test_oversized_empty_and_binary_policies_are_refused(
    write_policy: WritePolicy, tmp_path: Path
) -> None:
    big = write_policy("version: 1\n" + "#" * MAX_POLICY_BYTES)
    with pytest.raises(ConfigError, match="larger than"):
        load_policy(big)
    assert "empty" in _error(write_policy, "# nothing\n").problem
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"version: 1\n\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_policy(binary)
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")


def test_deep_nesting_is_refused(write_policy: WritePolicy) -> None:
    error = _error(write_policy, "version: 1\nx: " + "[" * 40 + "]" * 40 + "\n")
    assert "nesting deeper" in error.problem


def test_unknown_dataset_lists_the_known_ones(write_policy: WritePolicy) -> None:
    policy = load_policy(write_policy("version: 1\ndatasets:\n  claims: {files: ['*.csv']}\n"))
    with pytest.raises(ConfigError, match="claims"):
        policy.rules_for("a.csv", dataset="patients")


def test_column_patterns_match_names_at_any_depth_and_dotted_paths(
    write_policy: WritePolicy,
) -> None:
    policy = load_policy(
        write_policy(
            "version: 1\n"
            "columns:\n"
            "  - {match: email, operator: redact}\n"
            "  - {match: 'billing.*', operator: drop}\n"
            "  - {match: ['*_SSN'], operator: partial}\n"
        )
    )
    rules = policy.rules_for("x.jsonl")

    def name(path: str) -> str | None:
        spec = rules.column_action(path)
        return spec.name if spec else None

    assert name("Email") == "redact"
    assert name("user.email") == "redact"
    assert name("billing.card") == "drop"
    assert name("card") is None
    assert name("patient_ssn") == "partial"
    assert name("emails") is None


def test_dataset_rules_come_before_project_rules(write_policy: WritePolicy) -> None:
    policy = load_policy(
        write_policy(
            "version: 1\n"
            "default_action: redact\n"
            "entities: {email: redact}\n"
            "columns: [{match: id, operator: keep}]\n"
            "datasets:\n"
            "  crm:\n"
            "    files: ['crm/*.csv']\n"
            "    default_action: auto\n"
            "    entities: {email: pseudonym}\n"
            "    columns: [{match: id, operator: pseudonym}]\n"
            "    detection: {min_confidence: 0.9}\n"
        )
    )
    crm = policy.rules_for("data/crm/a.csv")
    assert crm.column_action("id").name == "pseudonym"  # type: ignore[union-attr]
    assert crm.entity_action("email").name == "pseudonym"
    assert crm.entity_action("us_ssn").name == "pseudonym"  # auto: identifiers
    assert crm.entity_action("person").name == "redact"  # auto: everything else
    assert crm.detection.min_confidence == 0.9
    other = policy.rules_for("other.csv")
    assert other.column_action("id").name == "keep"  # type: ignore[union-attr]
    assert other.entity_action("us_ssn").name == "redact"


def test_auto_default_pseudonymises_identifiers_and_redacts_the_rest(
    write_policy: WritePolicy,
) -> None:
    rules = load_policy(write_policy("version: 1\n")).rules_for("a.csv")
    for entity in ["email", "credit_card", "us_ssn", "iban", "phone", "national_id_de"]:
        assert rules.entity_action(entity).name == "pseudonym", entity
    for entity in ["person", "location", "credential", "date_of_birth", "some_new_entity"]:
        assert rules.entity_action(entity).name == "redact", entity


def test_key_is_needed_only_when_an_operator_is_keyed(write_policy: WritePolicy) -> None:
    redact_only = "version: 1\ndefault_action: redact\ncolumns: [{match: a, operator: year}]\n"
    assert not load_policy(write_policy(redact_only)).rules_for("a.csv").needs_key()
    assert load_policy(write_policy("version: 1\n")).rules_for("a.csv").needs_key()
    no_detection = "version: 1\ndetection: {enabled: false}\n"
    assert not load_policy(write_policy(no_detection)).rules_for("a.csv").needs_key()
