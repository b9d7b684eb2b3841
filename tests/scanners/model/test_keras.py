"""Keras configs (``.keras`` archives and bare JSON) and tokenizer configs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from corpus.formats import (
    keras2_lambda,
    keras2_model_config,
    keras3_config,
    keras3_function_lambda,
    keras3_lambda,
    tokenizer_config,
    write_keras,
)
from corpus.payloads import Payload

import mlwarden
from mlwarden.engine import scan_blob
from mlwarden.findings import Finding, Location, Severity
from mlwarden.limits import Limits
from mlwarden.scanners.base import Blob, ScanSettings
from mlwarden.scanners.model.keras_config import describe_code

MARKER = Payload(Path("/tmp/never/MARKER"))


def scan(data: bytes, name: str = "config.json", **limits: int) -> list[Finding]:
    settings = ScanSettings(limits=replace(Limits(), **limits))
    findings, _status, _fmt = scan_blob(Blob(data, Location(name), name), settings)
    return findings


def scan_config(config: object) -> list[Finding]:
    return scan(json.dumps(config).encode())


def by_rule(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.rule_id, []).append(f)
    return out


def test_benign_configs_raise_nothing() -> None:
    assert scan_config(keras3_config()) == []
    assert scan_config(keras2_model_config()) == []


def test_keras3_lambda_bytecode_is_critical_and_shows_its_strings() -> None:
    (finding,) = scan_config(keras3_config(keras3_lambda(MARKER)))
    assert finding.rule_id == "MLW-KER-001" and finding.severity is Severity.CRITICAL
    assert "/tmp/never/MARKER" in finding.evidence and "'open'" in finding.evidence
    assert "CWE-502" in finding.tags


def test_keras2_lambda_and_output_shape_lambda() -> None:
    layer = keras2_lambda(MARKER)
    layer["config"]["output_shape"] = layer["config"]["function"]
    layer["config"]["output_shape_type"] = "lambda"
    found = scan_config(keras2_model_config(layer))
    evidence = " ".join(f.evidence for f in found)
    assert {f.rule_id for f in found} == {"MLW-KER-001"}
    assert "function:" in evidence and "output_shape:" in evidence


def test_lambda_source_string_and_legacy_string_form() -> None:
    source = {"class_name": "Lambda", "config": {"name": "l", "function": "lambda x: x * 2",
                                                 "function_type": "lambda"}}  # fmt: skip
    legacy = keras2_lambda(MARKER)
    legacy["config"]["function"] = legacy["config"]["function"][0]  # Keras 2.0: a bare string
    del legacy["config"]["function_type"]
    for layer in (source, legacy):
        (finding,) = scan_config(keras2_model_config(layer))
        assert finding.rule_id == "MLW-KER-001"
    assert "Python source" in scan_config(keras2_model_config(source))[0].evidence


def test_serialization_lib_lambda_value_form() -> None:
    code = keras2_lambda(MARKER)["config"]["function"]
    nested = {"class_name": "__lambda__", "config": {"value": code}}
    config = keras3_config(keras3_function_lambda("f", "keras.ops", "relu"))
    config["config"]["layers"][2]["config"]["function"] = nested
    assert [f.rule_id for f in scan_config(config)] == ["MLW-KER-001"]


@pytest.mark.parametrize(
    ("module", "function", "rule", "severity"),
    [
        ("os", "system", "MLW-KER-003", Severity.CRITICAL),
        ("builtins", "exec", "MLW-KER-003", Severity.CRITICAL),
        ("subprocess", "check_output", "MLW-KER-003", Severity.CRITICAL),
        ("keras.utils", "get_file", "MLW-KER-003", Severity.CRITICAL),
        ("keras.config", "enable_unsafe_deserialization", "MLW-KER-003", Severity.CRITICAL),
        ("keras.src.backend.common.global_state", "set_global_attribute", "MLW-KER-003",
         Severity.CRITICAL),
        ("keras.models", "load_model", "MLW-KER-003", Severity.CRITICAL),
        ("keras.src.utils.python_utils", "func_load", "MLW-KER-003", Severity.CRITICAL),
        ("evil_pkg.layers", "helper", "MLW-KER-002", Severity.HIGH),
        ("tensorflow.io", "write_file", "MLW-KER-004", Severity.HIGH),
        ("tensorflow", "py_function", "MLW-KER-004", Severity.CRITICAL),
        ("keras.src.saving.saving_lib", "something_odd", "MLW-KER-005", Severity.MEDIUM),
        ("__main__", "my_fn", "MLW-KER-005", Severity.MEDIUM),
    ],
)  # fmt: skip
def test_function_references(module: str, function: str, rule: str, severity: Severity) -> None:
    found = scan_config(keras3_config(keras3_function_lambda("fn", module, function)))
    assert [(f.rule_id, f.severity) for f in found] == [(rule, severity)], found
    assert f"{module}.{function}" in found[0].evidence


@pytest.mark.parametrize(
    ("module", "function"),
    [("keras.activations", "relu"), ("keras.src.ops.numpy", "mean"), ("builtins", "relu"),
     ("keras.applications.mobilenet_v2", "preprocess_input"), ("tensorflow.math", "add"),
     ("numpy", "mean")],
)  # fmt: skip
def test_ordinary_function_references_are_quiet(module: str, function: str) -> None:
    assert scan_config(keras3_config(keras3_function_lambda("fn", module, function))) == []


def test_classes_from_foreign_modules() -> None:
    custom = {"module": "my_project.layers", "class_name": "Fancy", "config": {"name": "f"},
              "registered_name": "my_project>Fancy"}  # fmt: skip
    os_class = {"module": "os", "class_name": "system", "config": {"name": "x"}}
    found = by_rule(scan_config(keras3_config(custom, os_class)))
    severities = sorted(f.severity for f in found["MLW-KER-002"])
    assert severities == [Severity.HIGH, Severity.CRITICAL]
    assert "registered custom object 'my_project>Fancy'" in found["MLW-KER-005"][0].evidence


def test_unknown_keras2_class_is_medium_and_known_ones_pass() -> None:
    unknown = {"class_name": "AttentionPooling", "config": {"name": "pool"}}
    known = {"class_name": "BatchNormalization", "config": {"name": "bn"}}
    (finding,) = scan_config(keras2_model_config(unknown, known))
    assert finding.rule_id == "MLW-KER-005" and finding.severity is Severity.MEDIUM
    assert "'AttentionPooling'" in finding.evidence


def test_tf_op_lambda() -> None:
    layer = {"class_name": "TFOpLambda", "config": {"name": "tf.io.write_file",
                                                    "function": "io.write_file"}}  # fmt: skip
    ok = {"class_name": "TFOpLambda", "config": {"name": "tf.math.add", "function": "math.add"}}
    native = {"class_name": "TFOpLambda", "config": {"name": "l", "function": "load_op_library"}}
    found = scan_config(keras2_model_config(layer, ok, native))
    assert [(f.rule_id, f.severity) for f in found] == [
        ("MLW-KER-004", Severity.HIGH),
        ("MLW-KER-004", Severity.CRITICAL),
    ]


def test_layers_that_open_paths_at_load_time() -> None:
    lookup = {"module": "keras.layers", "class_name": "StringLookup",
              "config": {"name": "lookup", "vocabulary": "gs://bucket/vocab.txt"}}  # fmt: skip
    tfsm = {"module": "keras.layers", "class_name": "TFSMLayer",
            "config": {"name": "sm", "filepath": "/srv/other_model"}}  # fmt: skip
    inline = {"module": "keras.layers", "class_name": "StringLookup",
              "config": {"name": "ok", "vocabulary": ["a", "b"]}}  # fmt: skip
    found = scan_config(keras3_config(lookup, tfsm, inline))
    assert [f.rule_id for f in found] == ["MLW-KER-006", "MLW-KER-006"]
    assert "gs://bucket/vocab.txt" in found[0].evidence


def test_same_problem_is_reported_once() -> None:
    lam = keras3_lambda(MARKER)
    config = keras3_config(lam)
    config["config"]["layers"].append(lam)  # shared layer serialised twice
    assert len(scan_config(config)) == 1


def test_keras_archive_reaches_config_json(tmp_path: Path) -> None:
    path = write_keras(tmp_path / "m.keras", keras3_config(keras3_lambda(MARKER)))
    report = mlwarden.scan(str(path))
    (finding,) = report.findings
    assert finding.location.member == "config.json"
    assert report.files[0].format.startswith("zip")


def test_describe_code_never_unmarshals(monkeypatch: pytest.MonkeyPatch) -> None:
    import marshal

    monkeypatch.setattr(marshal, "loads", lambda *_: pytest.fail("unmarshalled"))
    code = keras2_lambda(MARKER)["config"]["function"][0]
    text = describe_code(code)
    assert "marshalled Python bytecode" in text and "/tmp/never/MARKER" in text
    assert "not a code object" in describe_code("aGVsbG8gd29ybGQ=")


def test_non_keras_json_is_left_alone() -> None:
    assert scan(b'{"architectures": ["LlamaForCausalLM"], "hidden_size": 4096}') == []
    assert scan(b'{"a": [1, 2, 3]}', "data.json") == []
    assert scan(b"{not json at all", "data.json") == []


def test_invalid_json_that_claims_to_be_a_config_is_malformed() -> None:
    (finding,) = scan(b'{"class_name": "Sequential", "config": {')
    assert finding.rule_id == "MLW-GEN-003"


def test_deep_and_large_documents_hit_limits() -> None:
    deep = b'{"class_name": "X", "config": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert [f.rule_id for f in scan(deep)] == ["MLW-GEN-002"]
    big = json.dumps(keras3_config()).encode()
    assert [f.rule_id for f in scan(big, max_metadata_bytes=100)] == ["MLW-GEN-002"]
    assert scan(b'{"rows": [' + b"1," * 100 + b"1]}", max_metadata_bytes=100) == []


def test_tokenizer_config_chat_templates() -> None:
    assert scan(tokenizer_config("{{ messages[0]['content'] }}"), "tokenizer_config.json") == []
    evil = "{{ lipsum.__globals__['os'].popen('id').read() }}"
    (finding,) = scan(tokenizer_config(evil), "tokenizer_config.json")
    assert finding.rule_id == "MLW-TPL-001" and "chat_template" in finding.evidence
    templates = [{"name": "default", "template": "{{ 1 }}"}, {"name": "tool_use", "template": evil}]
    named = json.dumps({"chat_template": templates}).encode()
    (finding,) = scan(named, "tokenizer_config.json")
    assert "'tool_use'" in finding.evidence


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_config_json_in_other_unicode_encodings(encoding: str, tmp_path: Path) -> None:
    path = tmp_path / "m.keras"
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(keras3_config(keras3_lambda(MARKER))).encode(encoding))
    assert [f.rule_id for f in mlwarden.scan(str(path)).findings] == ["MLW-KER-001"]
