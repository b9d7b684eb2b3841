"""The production database: the whole registry flow on PostgreSQL, shared by two contexts
(as two server processes would share it)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from server_fixtures import (
    CREDENTIAL,
    PEOPLE,
    ServerWorld,
    make_world,
    sklearn_model_bytes,
    upload,
)
from sqlalchemy import create_engine

from mlwarden.server.app import create_app
from mlwarden.server.context import open_context
from mlwarden.server.settings import ServerSettings

BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    schema = f"mlw_srv_{uuid.uuid4().hex[:12]}"
    engine = create_engine(BASE)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:  # pragma: no cover - the machine's PostgreSQL is down
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is required: {exc}")
    url = f"{BASE}?options={quote(f'-csearch_path={schema}')}"
    monkeypatch.setenv("MLWARDEN_DATABASE_URL", url)
    try:
        yield url
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


def test_registry_flow_on_postgresql_across_two_contexts(pg_url: str, tmp_path: Path) -> None:
    first = make_world(tmp_path / "ws")
    second_ctx = open_context(first.root, CREDENTIAL, ServerSettings(), clock=first.clock)
    second = ServerWorld(
        first.root,
        second_ctx,
        create_app(second_ctx, close_on_shutdown=False),
        first.clock,
        first.keys,
    )
    try:
        assert first.ctx.vault.engine.dialect.name == "postgresql"
        reply = upload(first.client("dana"), "fraud", "churn", sklearn_model_bytes())
        assert reply.status_code == 201, reply.text
        # the second process sees the upload and decides the promotion
        pid = second.client("dana").post("/api/v1/artifacts/churn:1/promote/staging", json={})
        assert pid.status_code == 201, pid.text
        vote = first.client("abby").post(f"/api/v1/promotions/{pid.json()['id']}/approve", json={})
        assert vote.json()["status"] == "approved"
        assert second.client("vera").get("/api/v1/artifacts/churn:1").json()["stage"] == "staging"
        # both processes append decisions to one ledger, which still verifies
        first.ctx.ledger_writer.flush()
        second.ctx.ledger_writer.flush()
        ledger = first.ctx.vault.ledger
        actors = {json.loads(e.body)["actor"] for e in ledger.entries()}
        assert {"dana", "abby", "vera"} <= actors
        assert ledger.verify(first.ctx.vault.verifier).ok
        assert set(PEOPLE) <= {p.name for p in second.ctx.identity.list_principals()}
    finally:
        second.close()
        first.close()
