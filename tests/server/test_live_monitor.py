"""Live monitoring: the gateway's traffic is compared with the model's training profile."""

from __future__ import annotations

import json

import numpy as np
from server_fixtures import ServerWorld, sklearn_model_bytes, tabular_schema

from mlwarden.ml.base import Dataset
from mlwarden.monitor.profile import ReferenceProfile
from mlwarden.monitor.profile_json import profile_to_json
from mlwarden.server.live_monitor import LiveMonitor

NAMES = ("f0", "f1", "f2", "f3")


def _serve_with_profile(world: ServerWorld) -> None:
    rng = np.random.default_rng(0)
    profile = ReferenceProfile.fit(Dataset(X=rng.normal(size=(5000, 4)), feature_names=NAMES))
    reply = world.client("dana").post(
        "/api/v1/projects/fraud/artifacts",
        data={
            "name": "churn",
            "kind": "model",
            "framework": "sklearn",
            "input_schema": json.dumps(tabular_schema()),
            "reference_profile": profile_to_json(profile),
        },
        files={"file": ("m.pkl", sklearn_model_bytes(), "application/octet-stream")},
    )
    assert reply.status_code == 201, reply.text
    for stage in ("staging", "production"):
        pid = (
            world.client("dana")
            .post(f"/api/v1/artifacts/churn:1/promote/{stage}", json={})
            .json()["id"]
        )
        assert world.client("abby").post(f"/api/v1/promotions/{pid}/approve", json={}).is_success


def _traffic(world: ServerWorld, shift: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    client = world.client("vera")
    for _ in range(6):
        rows = rng.normal(loc=shift, size=(100, 4)).clip(-9, 9)
        reply = client.post("/api/v1/models/churn/predict", json={"inputs": rows.tolist()})
        assert reply.status_code == 200, reply.text


def test_shifted_traffic_raises_drift_alerts(world: ServerWorld) -> None:
    _serve_with_profile(world)
    _traffic(world, shift=1.0, seed=1)
    report = world.client("vera").get("/api/v1/models/churn/drift").json()
    assert report["rows"] == 600
    assert report["findings"], report
    assert LiveMonitor(world.ctx).check_once() >= 1
    assert any("churn" in a.dedup_key or "churn" in a.message for a in world.ctx.recent_alerts)
    world.ctx.ledger_writer.flush()
    actions = [json.loads(e.body)["action"] for e in world.ctx.vault.ledger.entries()]
    assert "monitor.drift" in actions


def test_traffic_like_training_stays_quiet(world: ServerWorld) -> None:
    _serve_with_profile(world)
    _traffic(world, shift=0.0, seed=2)
    report = world.client("vera").get("/api/v1/models/churn/drift").json()
    assert report["findings"] == []
    assert LiveMonitor(world.ctx).check_once() == 0


def test_a_bad_profile_is_refused_at_upload(world: ServerWorld) -> None:
    reply = world.client("dana").post(
        "/api/v1/projects/fraud/artifacts",
        data={
            "name": "m",
            "framework": "sklearn",
            "input_schema": json.dumps(tabular_schema()),
            "reference_profile": '{"not": "a profile"}',
        },
        files={"file": ("m.pkl", sklearn_model_bytes(), "application/octet-stream")},
    )
    assert reply.status_code == 422
    assert "reference_profile" in reply.text
