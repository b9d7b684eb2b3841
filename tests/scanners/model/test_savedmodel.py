"""TensorFlow SavedModel graphs and Keras metadata, encoded by hand (no TensorFlow here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from corpus import protowriter as pw
from corpus.formats import keras2_lambda
from corpus.payloads import Payload

from mlwarden.engine import scan_blob
from mlwarden.findings import Finding, Location, Severity
from mlwarden.scanners.base import Blob, ScanSettings

MARKER = Payload(Path("/tmp/never/MARKER"))


def scan(data: bytes, name: str = "saved_model.pb") -> list[Finding]:
    findings, _status, _fmt = scan_blob(Blob(data, Location(name), name), ScanSettings())
    return findings


def model(*nodes: bytes, functions: tuple[bytes, ...] = (), assets: tuple[str, ...] = ()) -> bytes:
    return pw.saved_model(pw.graph_def(list(nodes), list(functions)), assets=assets)


def test_ordinary_graph_with_save_and_restore_is_clean() -> None:
    data = model(
        pw.node_def("x", "Placeholder"),
        pw.node_def("save", "SaveV2"),
        pw.node_def("restore", "RestoreV2"),
        pw.node_def("merge", "MergeV2Checkpoints"),
        pw.node_def("vocab", "InitializeTableFromTextFileV2"),
        pw.node_def("print", "PrintV2", pw.attr_string("output_stream", "stderr")),
        functions=(pw.function_def("f", pw.node_def("m", "MatMul")),),
        assets=("vocab.txt", "sub/merges.txt"),
    )
    assert scan(data) == []


@pytest.mark.parametrize(
    ("op", "rule", "severity"),
    [
        ("PyFunc", "MLW-TF-001", Severity.HIGH),
        ("EagerPyFunc", "MLW-TF-001", Severity.HIGH),
        ("WriteFile", "MLW-TF-002", Severity.HIGH),
        ("DebugIdentityV2", "MLW-TF-002", Severity.HIGH),
        ("DataServiceDatasetV4", "MLW-TF-002", Severity.HIGH),
        ("ReadFile", "MLW-TF-005", Severity.HIGH),
        ("ImmutableConst", "MLW-TF-003", Severity.MEDIUM),
        ("TFRecordDatasetV2", "MLW-TF-003", Severity.MEDIUM),
    ],
)
def test_dangerous_ops_in_the_function_library(op: str, rule: str, severity: Severity) -> None:
    fn = pw.function_def("__inference_serve", pw.node_def("n1", op), pw.node_def("n2", op))
    (finding,) = scan(model(pw.node_def("x", "Placeholder"), functions=(fn,)))
    assert (finding.rule_id, finding.severity) == (rule, severity)
    assert finding.evidence == f"op {op} in 2 node(s): 'n1', 'n2'"


def test_ops_in_every_meta_graph_are_seen() -> None:
    first = pw.msg(pw.bytes_field(2, pw.graph_def([pw.node_def("a", "MatMul")])))
    second = pw.msg(pw.bytes_field(2, pw.graph_def([pw.node_def("b", "PyFunc")])))
    data = pw.msg(pw.int_field(1, 1), pw.bytes_field(2, first), pw.bytes_field(2, second))
    assert [f.rule_id for f in scan(data)] == ["MLW-TF-001"]


def test_print_to_a_file() -> None:
    node = pw.node_def("p", "PrintV2", pw.attr_string("output_stream", "file:///etc/cron.d/x"))
    (finding,) = scan(model(node))
    assert finding.rule_id == "MLW-TF-002" and "file:///etc/cron.d/x" in finding.evidence


@pytest.mark.parametrize("asset", ["../../../etc/passwd", "/etc/shadow"])
def test_assets_outside_the_folder(asset: str) -> None:
    (finding,) = scan(model(pw.node_def("x", "Placeholder"), assets=(asset,)))
    assert finding.rule_id == "MLW-TF-004" and "CWE-22" in finding.tags


def test_many_nodes_are_summarised() -> None:
    nodes = [pw.node_def(f"w{i}", "WriteFile") for i in range(10)]
    (finding,) = scan(model(*nodes))
    assert finding.evidence.endswith("(+7 more)")


def test_keras_metadata_lambda_is_found_once() -> None:
    layer = keras2_lambda(MARKER)
    layer_doc = json.dumps({"name": "lambda", **layer})
    model_doc = json.dumps({"class_name": "Sequential", "config": {"layers": [layer]}})
    findings = scan(pw.keras_metadata(model_doc, layer_doc, "not json"), "keras_metadata.pb")
    assert [f.rule_id for f in findings] == ["MLW-KER-001"]
    assert findings[0].evidence.startswith("keras metadata: Lambda 'lambda'")


def test_keras_config_in_the_object_graph() -> None:
    meta = json.dumps({"class_name": "Lambda", "config": keras2_lambda(MARKER)["config"]})
    user_object = pw.msg(pw.bytes_field(1, "_tf_keras_layer"), pw.bytes_field(3, meta))
    object_graph = pw.bytes_field(1, pw.bytes_field(4, user_object))
    meta_graph = pw.msg(pw.bytes_field(2, pw.graph_def([])), pw.bytes_field(7, object_graph))
    data = pw.msg(pw.int_field(1, 1), pw.bytes_field(2, meta_graph))
    assert [f.rule_id for f in scan(data)] == ["MLW-KER-001"]


def test_text_format() -> None:
    text = b'meta_graphs {\n graph_def {\n  node {\n   name: "p"\n   op: "PyFunc"\n  }\n }\n}\n'
    (finding,) = scan(text, "saved_model.pbtxt")
    assert finding.rule_id == "MLW-TF-001"


def test_malformed_protobuf() -> None:
    data = model(pw.node_def("x", "PyFunc"))
    (finding,) = scan(data[:-3])
    assert finding.rule_id == "MLW-GEN-003"
