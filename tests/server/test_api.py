"""The registry API as users rely on it: admission scans, quarantine, promotion by others,
guarded predictions, step-up for sensitive data, the ledger trail, hardening."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyotp
import pytest
from server_fixtures import (
    SECRET,
    ServerWorld,
    make_world,
    malicious_pickle,
    sklearn_model_bytes,
    tabular_schema,
    upload,
)

from mlwarden.server.settings import RateSetting, ServerSettings


def _ledger(world: ServerWorld) -> list[dict[str, object]]:
    world.ctx.ledger_writer.flush()
    return [json.loads(e.body) for e in world.ctx.vault.ledger.entries()]


def _promote(world: ServerWorld, ref: str, requester: str, approver: str, stage: str) -> None:
    reply = world.client(requester).post(f"/api/v1/artifacts/{ref}/promote/{stage}", json={})
    assert reply.status_code == 201, reply.text
    vote = world.client(approver).post(f"/api/v1/promotions/{reply.json()['id']}/approve", json={})
    assert vote.status_code == 200, vote.text
    assert vote.json()["status"] == "approved"


def _production_model(world: ServerWorld, name: str = "churn") -> str:
    reply = upload(world.client("dana"), "fraud", name, sklearn_model_bytes())
    assert reply.status_code == 201, reply.text
    ref = reply.json()["artifact"]["reference"]
    _promote(world, ref, "dana", "abby", "staging")
    _promote(world, ref, "dana", "abby", "production")
    return str(ref)


def test_clean_upload_is_scanned_stored_and_listed(world: ServerWorld) -> None:
    reply = upload(world.client("dana"), "fraud", "churn", sklearn_model_bytes())
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["scan"]["status"] == "clean"
    assert body["artifact"]["quarantined"] is False
    assert body["artifact"]["creator"] == "dana"
    listed = world.client("vera").get("/api/v1/projects/fraud/artifacts").json()
    assert [a["reference"] for a in listed] == ["churn:1"]
    assert world.client("nick").get("/api/v1/projects/fraud/artifacts").status_code == 403


def test_malicious_upload_is_quarantined_never_promoted_never_run(
    world: ServerWorld, tmp_path: Path
) -> None:
    marker = tmp_path / "payload-ran"
    reply = upload(world.client("dana"), "fraud", "evil", malicious_pickle(marker))
    assert reply.status_code == 201, reply.text
    assert reply.json()["artifact"]["quarantined"] is True
    findings = world.client("vera").get("/api/v1/artifacts/evil:1/findings").json()
    assert findings["quarantined"] is True
    assert any(f["severity"] in ("high", "critical") for f in findings["findings"])
    refused = world.client("dana").post("/api/v1/artifacts/evil:1/promote/staging", json={})
    assert refused.status_code == 409
    assert not marker.exists()


def test_nobody_approves_their_own_upload_or_request(world: ServerWorld) -> None:
    world.ctx.identity.grant("dana", "approver", "fraud")
    ref = upload(world.client("dana"), "fraud", "m", sklearn_model_bytes()).json()["artifact"][
        "reference"
    ]
    pid = (
        world.client("dave").post(f"/api/v1/artifacts/{ref}/promote/staging", json={}).json()["id"]
    )
    own_upload = world.client("dana").post(f"/api/v1/promotions/{pid}/approve", json={})
    assert own_upload.status_code in (403, 409)
    world.ctx.identity.grant("dave", "approver", "fraud")
    own_request = world.client("dave").post(f"/api/v1/promotions/{pid}/approve", json={})
    assert own_request.status_code == 409
    assert (
        world.client("abby").post(f"/api/v1/promotions/{pid}/approve", json={}).json()["status"]
        == "approved"
    )
    assert world.client("vera").get(f"/api/v1/artifacts/{ref}").json()["stage"] == "staging"


def test_promotions_move_one_stage_at_a_time(world: ServerWorld) -> None:
    ref = upload(world.client("dana"), "fraud", "m", sklearn_model_bytes()).json()["artifact"][
        "reference"
    ]
    skip = world.client("dana").post(f"/api/v1/artifacts/{ref}/promote/production", json={})
    assert skip.status_code == 409


def test_prediction_through_the_guard(world: ServerWorld) -> None:
    _production_model(world)
    reply = world.client("vera").post(
        "/api/v1/models/churn/predict", json={"inputs": [[1.0, 1.0, 0.0, 0.0], [-2, -2, 0, 0]]}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["labels"] == [1, 0]
    assert (
        world.client("nick")
        .post("/api/v1/models/churn/predict", json={"inputs": [[1.0, 1.0, 0.0, 0.0]]})
        .status_code
        == 403
    )
    entries = [e for e in _ledger(world) if e["action"] == "model.predict"]
    # The denial is written at once; allowed predictions are tallied (flushed above).
    assert sorted((e["actor"], e["decision"]) for e in entries) == [
        ("nick", "deny"),
        ("vera", "allow"),
    ]
    allowed = next(e for e in entries if e["decision"] == "allow")
    details: Any = allowed["details"]
    assert details["count"] == 1 and details["traffic"]["rows"] == 2
    assert details["reasons"] and details["method"] == "api_key"


def test_bad_inputs_get_422_naming_the_field(world: ServerWorld) -> None:
    _production_model(world)
    client = world.client("vera")
    out_of_range = client.post("/api/v1/models/churn/predict", json={"inputs": [[1, 2, 3, 99]]})
    assert out_of_range.status_code == 422
    assert "inputs[0]" in json.dumps(out_of_range.json())
    wrong_type = client.post("/api/v1/models/churn/predict", json={"inputs": [[1, "x", 3, 4]]})
    assert wrong_type.status_code == 422
    assert client.post("/api/v1/models/churn/predict", content=b"{not json").status_code == 422
    assert (
        client.post("/api/v1/models/none/predict", json={"inputs": [[1, 2, 3, 4]]}).status_code
        == 404
    )


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    settings = ServerSettings(predict_per_principal=RateSetting(0.01, 3))
    world = make_world(tmp_path / "ws", settings)
    try:
        _production_model(world)
        client = world.client("vera")
        codes = [
            client.post("/api/v1/models/churn/predict", json={"inputs": [[0, 0, 0, 0]]})
            for _ in range(5)
        ]
        assert [c.status_code for c in codes] == [200, 200, 200, 429, 429]
        assert int(codes[-1].headers["retry-after"]) >= 1
        other = world.client("dana").post(
            "/api/v1/models/churn/predict", json={"inputs": [[0, 0, 0, 0]]}
        )
        assert other.status_code == 200  # the limit is per principal
    finally:
        world.close()


def test_pii_download_needs_a_stepped_up_session(world: ServerWorld) -> None:
    reply = upload(
        world.client("dana"),
        "fraud",
        "patients",
        b"name,age\nx,1\n",
        framework=None,
        labels={"pii": "true"},
    )
    assert reply.status_code == 201, reply.text
    denied = world.client("dana").get("/api/v1/artifacts/patients:1/content")
    assert denied.status_code == 403
    uri = world.client("dana").post("/api/v1/auth/totp").json()["provisioning_uri"]
    code = pyotp.parse_uri(uri).now()  # type: ignore[attr-defined]
    token = world.client("dana").post("/api/v1/auth/step-up", json={"otp": code}).json()
    assert "otp" in token["factors"]
    stepped = world.client(None, Authorization=f"Bearer {token['access_token']}")
    download = stepped.get("/api/v1/artifacts/patients:1/content")
    assert download.status_code == 200
    assert download.content == b"name,age\nx,1\n"


def test_access_tokens_work_and_tampering_is_refused(world: ServerWorld) -> None:
    token = world.client("vera").post("/api/v1/auth/token", json={}).json()["access_token"]
    me = world.client(None, Authorization=f"Bearer {token}").get("/api/v1/auth/whoami")
    assert me.json()["name"] == "vera" and me.json()["method"] == "token"
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (
        world.client(None, Authorization=f"Bearer {tampered}")
        .get("/api/v1/auth/whoami")
        .status_code
        == 401
    )
    assert (
        world.client(None, Authorization="Bearer mlw_nope_nope")
        .get("/api/v1/auth/whoami")
        .status_code
        == 401
    )


def test_denials_reach_the_ledger_with_reasons(world: ServerWorld) -> None:
    world.client("nick").get("/api/v1/projects/fraud/artifacts")
    world.client(None).get("/api/v1/projects/fraud/artifacts")
    world.ctx.ledger_writer.close()  # drains folded anonymous denials too
    entries = [json.loads(e.body) for e in world.ctx.vault.ledger.entries()]
    denied = [e for e in entries if e["actor"] == "nick" and e["decision"] == "deny"]
    assert denied and denied[0]["action"] == "artifact.list"
    assert denied[0]["details"]["reasons"]  # type: ignore[index]
    anonymous = [e for e in entries if str(e["actor"]).startswith("address:")]
    assert anonymous and anonymous[0]["details"]["count"] >= 1  # type: ignore[index]
    assert world.ctx.vault.ledger.verify(world.ctx.vault.verifier).ok


def test_security_headers_and_body_limits(tmp_path: Path) -> None:
    world = make_world(tmp_path / "ws", ServerSettings(max_json_bytes=1024))
    try:
        reply = world.client("vera").get("/api/v1/auth/whoami")
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in reply.headers["content-security-policy"]
        assert reply.headers["strict-transport-security"].startswith("max-age=")
        big = world.client("vera").post(
            "/api/v1/models/x/predict", content=b"[" + b"1," * 2000 + b"1]"
        )
        assert big.status_code == 413
    finally:
        world.close()


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from mlwarden.cli import main; main()", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MLWARDEN_KEYRING_SECRET": SECRET.hex()},
    )


@pytest.mark.parametrize(
    "flags", [["--host", "0.0.0.0", "--plain-http"], ["--host", "0.0.0.0", "--dev"]]
)
def test_serve_refuses_plain_or_dev_on_a_public_address(flags: list[str]) -> None:
    result = _serve(*flags)
    assert result.returncode == 2
    assert "loopback" in result.stderr


def test_serve_refuses_to_start_without_tls() -> None:
    result = _serve("--host", "10.0.0.5")
    assert result.returncode == 2
    assert "TLS" in result.stderr


def test_a_torch_state_dict_is_served_in_its_declared_architecture(world: ServerWorld) -> None:
    import io

    import torch

    from mlwarden.gateway.torch_arch import build_module

    spec = {"arch": "mlp", "layers": [8, 3]}
    torch.manual_seed(0)
    module = build_module(spec, (4,)).module
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    reply = world.client("dana").post(
        "/api/v1/projects/fraud/artifacts",
        data={
            "name": "tiny",
            "kind": "model",
            "framework": "torch",
            "input_schema": json.dumps(tabular_schema()),
            "architecture": json.dumps(spec),
        },
        files={"file": ("tiny.pt", buffer.getvalue(), "application/octet-stream")},
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["scan"]["quarantined"] is False
    for stage in ("staging", "production"):
        _promote(world, "tiny:1", "dana", "abby", stage)
    rows = [[0.5, -0.5, 1.0, 0.0]]
    answer = world.client("vera").post("/api/v1/models/tiny/predict", json={"inputs": rows})
    assert answer.status_code == 200, answer.text
    with torch.no_grad():
        expected = torch.softmax(module(torch.tensor(rows)), dim=1)
    assert answer.json()["labels"] == [int(expected.argmax())]
    assert answer.json()["scores"][0] == pytest.approx(expected[0].tolist(), abs=1e-5)


def test_a_name_belongs_to_one_project(world: ServerWorld) -> None:
    assert upload(world.client("dana"), "fraud", "churn", sklearn_model_bytes()).status_code == 201
    taken = upload(world.client("nick"), "vision", "churn", sklearn_model_bytes())
    assert taken.status_code == 409
    assert world.client("dana").get("/api/v1/artifacts/churn:2").status_code == 404


def test_the_direct_predict_route_is_published_and_hardened(world: ServerWorld) -> None:
    spec = world.client(None).get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/models/{name}/predict"]["post"]
    assert operation["x-mlwarden-action"] == "model.predict"
    assert operation["requestBody"]["required"] is True
    assert [p["name"] for p in operation["parameters"]] == ["name"]
    _production_model(world)
    reply = world.client("vera").post(
        "/api/v1/models/churn/predict", json={"inputs": [[1.0, 1.0, 0.0, 0.0]]}
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.json() == {"model": "churn:1", "labels": [1], "scores": reply.json()["scores"]}
    anonymous = world.client(None).post("/api/v1/models/churn/predict", json={"inputs": [[0] * 4]})
    assert anonymous.status_code == 401 and "x-frame-options" in anonymous.headers
