"""Allowed predictions reach the ledger as tallies: one entry per (principal, model version,
decision details) per interval, counting every prediction and summarising all their rows;
nothing is lost at flush or close."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from approx_tree import assert_close
from server_fixtures import ServerWorld, make_world, sklearn_model_bytes, upload

from mlwarden.gateway.prediction import Prediction
from mlwarden.gateway.traffic_summary import summarise
from mlwarden.server import ledger_writer
from mlwarden.server.ledger_writer import LedgerWriter

DETAILS = {"method": "api_key", "address": "10.0.0.1", "risk": 0, "signals": [], "reasons": ["p"]}


def _entries(world: ServerWorld) -> list[dict[str, Any]]:
    return [json.loads(e.body) for e in world.ctx.vault.ledger.entries()]


def _production_model(world: ServerWorld) -> None:
    reply = upload(world.client("dana"), "fraud", "churn", sklearn_model_bytes())
    assert reply.status_code == 201, reply.text
    ref = reply.json()["artifact"]["reference"]
    for stage in ("staging", "production"):
        asked = world.client("dana").post(f"/api/v1/artifacts/{ref}/promote/{stage}", json={})
        assert asked.status_code == 201, asked.text
        vote = world.client("abby").post(
            f"/api/v1/promotions/{asked.json()['id']}/approve", json={}
        )
        assert vote.status_code == 200, vote.text


def test_every_allowed_prediction_is_counted_and_summarised(world: ServerWorld) -> None:
    _production_model(world)
    rng = np.random.default_rng(3)
    batches = [rng.uniform(-5, 5, size=(n, 4)) for n in (1, 3, 2, 5, 1, 4)]
    client = world.client("vera")
    labels: list[int] = []
    for rows in batches:
        reply = client.post("/api/v1/models/churn/predict", json={"inputs": rows.tolist()})
        assert reply.status_code == 200, reply.text
        labels += reply.json()["labels"]
    denied = world.client("nick").post("/api/v1/models/churn/predict", json={"inputs": [[0] * 4]})
    assert denied.status_code == 403
    world.ctx.ledger_writer.flush()

    entries = [e for e in _entries(world) if e["action"] == "model.predict"]
    allowed = [e for e in entries if e["decision"] == "allow"]
    assert [e["actor"] for e in allowed] == ["vera"]
    details = allowed[0]["details"]
    assert details["count"] == len(batches)
    assert details["first"] <= details["last"]
    assert details["reasons"] and details["address"] and details["method"] == "api_key"
    everything = np.concatenate(batches)
    traffic = details["traffic"]
    assert traffic["rows"] == len(everything) == len(labels)
    for j, feature in enumerate(traffic["features"]):
        assert feature["min"] == pytest.approx(everything[:, j].min())
        assert feature["max"] == pytest.approx(everything[:, j].max())
        assert feature["mean"] == pytest.approx(everything[:, j].mean())
    assert sum(traffic["labels"].values()) == len(labels)
    # Denials keep an entry each, with their reasons.
    assert [e["actor"] for e in entries if e["decision"] == "deny"] == ["nick"]
    assert world.ctx.vault.ledger.verify(world.ctx.vault.verifier).ok


def test_the_monitor_window_sees_every_allowed_row(world: ServerWorld) -> None:
    _production_model(world)
    client = world.client("vera")
    sent = [[float(i), 0.0, 1.0, -1.0] for i in range(7)]
    for row in sent:
        assert (
            client.post("/api/v1/models/churn/predict", json={"inputs": [row]}).status_code == 200
        )
    window = world.ctx.models.window("churn")
    assert window is not None and len(window) == len(sent)
    inputs, scores = window.snapshot()
    assert inputs.tolist() == sent
    assert scores is not None and scores.shape == (len(sent), 2)


def test_tallies_are_split_by_who_what_and_why(tmp_path: Path, world: ServerWorld) -> None:
    writer = LedgerWriter(world.ctx.vault)
    rows = np.array([[1.0, 2.0]])
    answer = Prediction([1], [[0.2, 0.8]])
    elsewhere = {**DETAILS, "address": "10.0.0.2"}
    stepped_up = {**DETAILS, "risk": 40, "signals": ["new_device:40"]}
    calls = [
        ("vera", "m:1", DETAILS),
        ("vera", "m:1", DETAILS),
        ("vera", "m:1", elsewhere),
        ("vera", "m:1", stepped_up),
        ("vera", "m:2", DETAILS),
        ("dana", "m:1", DETAILS),
        ("vera", "m:1", DETAILS),
    ]
    for actor, artifact, details in calls:
        writer.tally(actor, "model.predict", artifact, details, rows, answer)
    writer.close()  # closes every open tally
    tallies = [e for e in _entries(world) if e["action"] == "model.predict"]
    counts = {
        (e["actor"], e["artifact"], e["details"]["address"], e["details"]["risk"]): e["details"][
            "count"
        ]
        for e in tallies
    }
    assert counts == {
        ("vera", "m:1", "10.0.0.1", 0): 3,
        ("vera", "m:1", "10.0.0.2", 0): 1,
        ("vera", "m:1", "10.0.0.1", 40): 1,
        ("vera", "m:2", "10.0.0.1", 0): 1,
        ("dana", "m:1", "10.0.0.1", 0): 1,
    }
    risky = next(e for e in tallies if e["details"]["risk"] == 40)
    assert risky["details"]["signals"] == ["new_device:40"]
    assert all(e["details"]["traffic"]["rows"] == e["details"]["count"] for e in tallies)


def test_an_open_tally_is_written_when_its_interval_ends(
    world: ServerWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger_writer, "TALLY_SECONDS", 0.05)
    writer = LedgerWriter(world.ctx.vault)
    try:
        writer.tally("vera", "model.predict", "m:1", DETAILS, np.zeros((2, 2)), Prediction([0, 0]))
        deadline = time.monotonic() + 30  # generous: the writer shares a busy machine
        while time.monotonic() < deadline:
            if any(e["action"] == "model.predict" for e in _entries(world)):
                break
            time.sleep(0.05)
        found = [e for e in _entries(world) if e["action"] == "model.predict"]
        assert len(found) == 1 and found[0]["details"]["count"] == 1
    finally:
        writer.close()


def test_a_clean_shutdown_writes_open_tallies(tmp_path: Path) -> None:
    world = make_world(tmp_path / "ws")
    _production_model(world)
    for _ in range(3):
        reply = world.client("vera").post(
            "/api/v1/models/churn/predict", json={"inputs": [[0.5, 0.5, 0.5, 0.5]]}
        )
        assert reply.status_code == 200
    world.close()  # the context's close drains the writer
    from server_fixtures import CREDENTIAL

    from mlwarden.store.workspace_vault import open_vault

    vault = open_vault(tmp_path / "ws", CREDENTIAL)
    try:
        tallied = [
            s.entry
            for s in vault.ledger.entries()
            if s.entry.action == "model.predict" and s.entry.decision == "allow"
        ]
    finally:
        vault.close()
    assert sum(e.details["count"] for e in tallied) == 3


def test_the_summary_of_a_tally_is_the_summary_of_all_its_rows(world: ServerWorld) -> None:
    writer = LedgerWriter(world.ctx.vault)
    parts = [
        (np.array([[1.0, np.nan], [3.0, 5.0]]), Prediction(["a", "b"], [[0.9, 0.1], [0.4, 0.6]])),
        (np.array([[-2.0, 7.0]]), Prediction(["a"], [[0.7, 0.3]])),
    ]
    for rows, answer in parts:
        writer.tally("vera", "model.predict", "m:1", DETAILS, rows, answer)
    writer.close()
    (entry,) = [e for e in _entries(world) if e["action"] == "model.predict"]
    whole = summarise(
        np.concatenate([r for r, _a in parts]),
        Prediction(
            [label for _r, a in parts for label in a.labels],
            [row for _r, a in parts for row in a.scores or []],
        ),
    )
    assert_close(entry["details"]["traffic"], whole)
