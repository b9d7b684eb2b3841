"""ONNX: external-data paths, custom domains and Python operators, found anywhere."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import onnx
import pytest
from corpus.formats import external_tensor, onnx_model
from onnx import TensorProto, helper

import mlwarden
from mlwarden.engine import scan_blob
from mlwarden.findings import Finding, Location, Severity
from mlwarden.scanners.base import Blob, ScanSettings
from mlwarden.scanners.detect import detect
from mlwarden.scanners.model.onnx_format import location_problem, looks_like_onnx


def scan_model(model: onnx.ModelProto, name: str = "model.onnx") -> list[Finding]:
    data = model.SerializeToString()
    findings, _status, _fmt = scan_blob(Blob(data, Location(name, "m.zip"), name), ScanSettings())
    return findings


def write(tmp_path: Path, model: onnx.ModelProto, name: str = "model.onnx") -> Path:
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return path


def test_benign_model_is_clean() -> None:
    assert scan_model(onnx_model()) == []


@pytest.mark.parametrize(
    "location",
    ["../../etc/passwd", "/etc/passwd", "weights/../../x.bin", "..\\..\\boot.ini", "C:/x.bin", ""],
)
def test_external_locations_that_escape(location: str) -> None:
    (finding,) = scan_model(onnx_model(external_tensor("W", location)))
    assert finding.rule_id == "MLW-ONNX-001" and finding.severity is Severity.HIGH
    assert "CWE-22" in finding.tags
    assert "'W'" in finding.evidence


def test_external_data_next_to_the_model_is_fine(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    model = onnx_model(external_tensor("W", "sub/weights.bin"))
    assert mlwarden.scan(str(write(tmp_path, model))).findings == ()


def test_symlink_out_of_the_model_folder_is_caught(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    os.symlink(outside, model_dir / "data")
    path = write(model_dir, onnx_model(external_tensor("W", "data/weights.bin")))
    (finding,) = mlwarden.scan(str(path)).findings
    assert "resolves outside the model folder" in finding.evidence


def test_location_problem_without_a_folder() -> None:
    assert location_problem("weights.bin", None) is None
    assert location_problem("a/b/c.bin", None) is None
    assert location_problem("a\x00b", None) == "the location contains a NUL byte"


def test_many_tensors_at_one_location_are_one_finding() -> None:
    tensors = [external_tensor(f"W{i}", "../x.bin") for i in range(5)]
    model = onnx_model(tensors[0])
    model.graph.initializer.extend(tensors[1:])
    (finding,) = scan_model(model)
    assert "and 4 more" in finding.evidence


def test_traversal_inside_nested_graphs_functions_and_sparse_tensors() -> None:
    const = helper.make_node("Constant", [], ["c"], value=external_tensor("c", "../a.bin"))
    out = helper.make_tensor_value_info("c", TensorProto.FLOAT, [4, 2])
    inner = helper.make_graph([const], "inner", [], [out])
    loop_body = helper.make_graph(
        [helper.make_node("If", ["cond"], ["c"], then_branch=inner, else_branch=inner)],
        "body", [], [out],
    )  # fmt: skip
    loop = helper.make_node("Loop", ["n", "cond"], ["r"], body=loop_body)
    fn = helper.make_function(
        "local.fns", "Scale", ["x"], ["y"],
        [helper.make_node("Constant", [], ["y"], value=external_tensor("k", "/abs.bin"))],
        [helper.make_opsetid("", 17)],
    )  # fmt: skip
    sparse = helper.make_sparse_tensor(
        external_tensor("sv", "../../sparse.bin"),
        helper.make_tensor("si", TensorProto.INT64, [8], list(range(8))),
        [4, 2],
    )
    model = onnx_model(
        extra_nodes=[loop, helper.make_node("Scale", ["Y"], ["Z"], domain="local.fns")]
    )
    model.functions.append(fn)
    model.graph.sparse_initializer.append(sparse)
    evidence = sorted(f.evidence for f in scan_model(model))
    assert len(evidence) == 3
    assert any("'../a.bin'" in e for e in evidence)
    assert any("'/abs.bin'" in e for e in evidence)
    assert any("'../../sparse.bin'" in e for e in evidence)


def test_custom_domains_are_medium_and_grouped() -> None:
    nodes = [
        helper.make_node("MyGelu", ["Y"], ["a"], domain="com.example"),
        helper.make_node("MyGelu", ["a"], ["b"], domain="com.example"),
        helper.make_node("MyNorm", ["b"], ["c"], domain="com.example"),
        helper.make_node("FusedMatMul", ["c", "c"], ["d"], domain="com.microsoft"),
        helper.make_node("LinearClassifier", ["d"], ["e", "f"], domain="ai.onnx.ml"),
    ]
    (finding,) = scan_model(onnx_model(extra_nodes=nodes))
    assert finding.rule_id == "MLW-ONNX-002" and finding.severity is Severity.MEDIUM
    assert finding.evidence == "domain 'com.example': MyGelu x2, MyNorm x1"


def test_model_local_functions_are_not_custom_ops() -> None:
    fn = helper.make_function(
        "local.fns", "Double", ["x"], ["y"], [helper.make_node("Add", ["x", "x"], ["y"])],
        [helper.make_opsetid("", 17)],
    )  # fmt: skip
    model = onnx_model(extra_nodes=[helper.make_node("Double", ["Y"], ["Z"], domain="local.fns")])
    model.functions.append(fn)
    assert scan_model(model) == []


def test_python_operators() -> None:
    pyop = helper.make_node(
        "PyOp", ["Y"], ["Z"], domain="mydomain", module="os", class_name="system"
    )
    ort_python = helper.make_node("PythonOp", ["Y"], ["W"], domain="com.microsoft", name="py",
                                  func_name="mymod.MyFunction")  # fmt: skip
    found = scan_model(onnx_model(extra_nodes=[pyop, ort_python]))
    rules = sorted(f.rule_id for f in found)
    assert rules == ["MLW-ONNX-002", "MLW-ONNX-003", "MLW-ONNX-003"]
    evidence = " ".join(f.evidence for f in found)
    assert "module='os'" in evidence and "func_name='mymod.MyFunction'" in evidence


def test_raw_tensor_bytes_are_not_copied() -> None:
    weight = helper.make_tensor("W", TensorProto.FLOAT, [1024, 1024], b"\x00" * (4 << 20), raw=True)
    data = onnx_model(weight).SerializeToString()
    blob = Blob(data, Location("m.onnx"), "m.onnx")
    tracemalloc.start()
    findings, _status, _fmt = scan_blob(blob, ScanSettings())
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert findings == []
    assert peak < 1 << 20  # the 4 MiB payload was skipped, not read


def test_malformed_and_graphless_files() -> None:
    data = onnx_model().SerializeToString()
    for bad in (data[: len(data) // 2], b"\x08\x07\x3a\xff\xff\xff\xff\x0f", b"hello world"):
        findings, _s, _f = scan_blob(Blob(bad, Location("m.onnx"), "m.onnx"), ScanSettings())
        assert [f.rule_id for f in findings] == ["MLW-GEN-003"], bad[:20]


def test_content_detection_without_the_extension() -> None:
    data = onnx_model().SerializeToString()
    assert looks_like_onnx(memoryview(data))
    assert detect(Blob(data, Location("weights.bin"), "weights.bin")) == "onnx"
    tf = b"\x08\x01\x12\x04\x0a\x02\x08\x01"  # SavedModel: schema version, one meta graph
    assert not looks_like_onnx(memoryview(tf))
    assert not looks_like_onnx(memoryview(b"\x08\x07"))
    assert detect(Blob(data, Location("saved_model.pb"), "saved_model.pb")) == "tf-savedmodel"
