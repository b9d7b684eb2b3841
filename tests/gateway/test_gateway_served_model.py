"""Serving loaders: real models round-trip; hostile or mismatched files are refused and
nothing in them ever runs."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus.payloads import Call, Payload

from mlwarden.errors import UnsafeModelError, UsageError
from mlwarden.gateway.input_schema import InputSchema
from mlwarden.gateway.served_model import ServedModel, load_served_model
from mlwarden.gateway.tabular_schema import Feature, TabularSchema
from mlwarden.gateway.tensor_schema import TensorSchema
from mlwarden.gateway.torch_arch import build_module

torch = pytest.importorskip("torch")
joblib = pytest.importorskip("joblib")

TABULAR = TabularSchema(tuple(Feature(f"x{k}") for k in range(4)))
CLASSES = ["low", "mid", "high"]
MLP = {"arch": "mlp", "layers": [16, 8, 3], "classes": CLASSES}


def _load(path: Path, framework: str, schema: InputSchema, **kw: Any) -> ServedModel:
    return load_served_model(
        path, framework=framework, schema=schema, name="m", version=1, digest="sha256:00", **kw
    )


def _data(rows: int = 40) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(0).normal(size=(rows, 4))
    return x, (x[:, 0] + x[:, 1] > 0).astype(int)


def test_sklearn_classifier_round_trip(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    model = LogisticRegression().fit(x, y)
    joblib.dump(model, tmp_path / "clf.joblib")
    served = _load(tmp_path / "clf.joblib", "sklearn", TABULAR)
    rows = TABULAR.validate({"inputs": x[:5].tolist()})
    answer = served.predict(rows)
    assert answer.labels == model.predict(x[:5]).tolist()
    assert answer.scores is not None
    np.testing.assert_allclose(answer.scores, model.predict_proba(x[:5]))
    assert (served.name, served.version, served.framework) == ("m", 1, "sklearn")


def test_sklearn_regressor_has_no_scores(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    x, _ = _data()
    model = LinearRegression().fit(x, x[:, 0] * 2)
    with open(tmp_path / "reg.pkl", "wb") as fh:
        pickle.dump(model, fh)
    answer = _load(tmp_path / "reg.pkl", "sklearn", TABULAR).predict(x[:3])
    assert answer.scores is None
    np.testing.assert_allclose(answer.labels, model.predict(x[:3]))


def test_sklearn_width_must_match_the_schema(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    joblib.dump(LogisticRegression().fit(x[:, :3], y), tmp_path / "clf.joblib")
    with pytest.raises(UsageError, match="3 features"):
        _load(tmp_path / "clf.joblib", "sklearn", TABULAR)


def test_a_malicious_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER-payload-ran"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(Call(os.system, Payload(marker).cmd)))
    with pytest.raises(UnsafeModelError):
        _load(path, "sklearn", TABULAR)
    assert not marker.exists()


def test_a_malicious_torch_checkpoint_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER-payload-ran"
    path = tmp_path / "weights.pt"
    state = build_module(MLP, (4,)).module.state_dict()
    torch.save({**state, "hook": Call(os.system, Payload(marker).cmd)}, path)
    with pytest.raises(UnsafeModelError):
        _load(path, "torch", TABULAR, architecture=MLP)
    assert not marker.exists()


def test_torch_mlp_round_trip(tmp_path: Path) -> None:
    network = build_module(MLP, (4,))
    torch.save(network.module.state_dict(), tmp_path / "w.pt")
    served = _load(tmp_path / "w.pt", "torch", TABULAR, architecture=MLP)
    x, _ = _data(6)
    answer = served.predict(x)
    with torch.no_grad():
        expected = torch.softmax(network.module(torch.tensor(x, dtype=torch.float32)), 1)
    assert answer.scores is not None
    np.testing.assert_allclose(answer.scores, expected.numpy(), rtol=1e-5, atol=1e-6)
    assert answer.labels == [CLASSES[i] for i in expected.argmax(1).tolist()]


def test_torch_cnn_round_trip(tmp_path: Path) -> None:
    spec = {
        "arch": "cnn",
        "in_channels": 1,
        "channels": [4, 8],
        "num_classes": 5,
        "input_hw": [8, 8],
    }
    schema = TensorSchema((1, 8, 8), "float32", 0.0, 1.0)
    network = build_module(spec, schema.row_shape)
    torch.save(network.module.state_dict(), tmp_path / "cnn.pt")
    served = _load(tmp_path / "cnn.pt", "torch", schema, architecture=spec)
    x = np.random.default_rng(1).random((3, 1, 8, 8)).astype(np.float32)
    answer = served.predict(schema.validate({"inputs": x.tolist()}))
    with torch.no_grad():
        expected = torch.softmax(network.module(torch.from_numpy(x)), 1)
    assert answer.labels == expected.argmax(1).tolist()
    assert answer.scores is not None
    np.testing.assert_allclose(answer.scores, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_a_state_dict_whose_keys_do_not_match_is_refused(tmp_path: Path) -> None:
    state = build_module(MLP, (4,)).module.state_dict()
    renamed = {f"net.{k}": v for k, v in state.items()}
    torch.save(renamed, tmp_path / "w.pt")
    with pytest.raises(UsageError, match=r"missing 0\.weight.*unexpected net\.0\.weight"):
        _load(tmp_path / "w.pt", "torch", TABULAR, architecture=MLP)


def test_a_state_dict_whose_shapes_do_not_match_is_refused(tmp_path: Path) -> None:
    wider = {**MLP, "layers": [32, 8, 3]}
    torch.save(build_module(wider, (4,)).module.state_dict(), tmp_path / "w.pt")
    with pytest.raises(UsageError, match=r"0\.weight has shape \[32, 4\]"):
        _load(tmp_path / "w.pt", "torch", TABULAR, architecture=MLP)


def test_a_whole_pickled_module_is_not_a_state_dict(tmp_path: Path) -> None:
    torch.save({"weights": [1, 2, 3]}, tmp_path / "w.pt")
    with pytest.raises(UsageError, match="state_dict"):
        _load(tmp_path / "w.pt", "torch", TABULAR, architecture=MLP)


@pytest.mark.parametrize(
    ("architecture", "words"),
    [
        (None, "needs a declared architecture"),
        ({"arch": "transformer"}, "not one of"),
        ({"arch": "mlp", "layers": []}, "list of 1"),
        ({"arch": "mlp", "layers": [4], "dropout": 0.1}, "unknown key"),
        ({"arch": "mlp", "layers": [4, 3], "classes": ["a"]}, "3 labels"),
        (
            {
                "arch": "cnn",
                "in_channels": 3,
                "channels": [4],
                "num_classes": 2,
                "input_hw": [8, 8],
            },
            "does not match",
        ),
    ],
)
def test_bad_architectures_are_usage_errors(tmp_path: Path, architecture: Any, words: str) -> None:
    torch.save(build_module(MLP, (4,)).module.state_dict(), tmp_path / "w.pt")
    with pytest.raises(UsageError, match=words):
        _load(tmp_path / "w.pt", "torch", TensorSchema((1, 2, 2)), architecture=architecture)


def test_unknown_frameworks_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot be served"):
        _load(tmp_path / "x", "tensorflow", TABULAR)


def test_predict_refuses_rows_of_another_shape(tmp_path: Path) -> None:
    torch.save(build_module(MLP, (4,)).module.state_dict(), tmp_path / "w.pt")
    served = _load(tmp_path / "w.pt", "torch", TABULAR, architecture=MLP)
    with pytest.raises(ValueError, match="expected"):
        served.predict(np.zeros((1, 5)))


# --- ONNX ---------------------------------------------------------------------------------


def _onnx_linear(path: Path, domain: str = "", external: bool = False) -> np.ndarray:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    node = helper.make_node("MatMul", ["x", "W"], ["logits"], domain=domain)
    graph = helper.make_graph(
        [node],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 3])],
        [numpy_helper.from_array(weights, "W")],
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    onnx.save_model(
        model, str(path), save_as_external_data=external, location="w.bin", size_threshold=0
    )
    return weights


def test_onnx_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    weights = _onnx_linear(tmp_path / "m.onnx")
    served = _load(tmp_path / "m.onnx", "onnx", TABULAR, architecture={"classes": ["a", "b", "c"]})
    x, _ = _data(5)
    answer = served.predict(x)
    logits = x.astype(np.float32) @ weights
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    assert answer.scores is not None
    np.testing.assert_allclose(answer.scores, expected, rtol=1e-4, atol=1e-6)
    assert answer.labels == [["a", "b", "c"][i] for i in logits.argmax(1)]


def test_onnx_with_a_custom_operator_domain_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    _onnx_linear(tmp_path / "m.onnx", domain="com.evil.ops")
    with pytest.raises(UnsafeModelError, match="MLW-ONNX-002"):
        _load(tmp_path / "m.onnx", "onnx", TABULAR)


def test_onnx_weights_outside_the_file_are_never_read(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    _onnx_linear(tmp_path / "m.onnx", external=True)
    assert (tmp_path / "w.bin").exists()
    with pytest.raises(UsageError, match="cannot load"):
        _load(tmp_path / "m.onnx", "onnx", TABULAR)


def test_a_pickle_declared_as_onnx_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path = tmp_path / "m.onnx"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(UsageError, match="not ONNX"):
        _load(path, "onnx", TABULAR)
