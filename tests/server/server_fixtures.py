"""A server over a fresh workspace for tests: principals with keys, a clock, helpers.

``ServerWorld`` holds the context, the ASGI app and one API key per named principal;
tests call the app in-process through Starlette's ``TestClient`` unless they need a
real socket (TLS, mTLS, two processes, the browser).
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from mlwarden.server.app import create_app
from mlwarden.server.context import ServerContext, open_context
from mlwarden.server.settings import ServerSettings
from mlwarden.store.workspace_vault import init_workspace
from mlwarden.workspace import Credential

SECRET = bytes(range(1, 33))
CREDENTIAL = Credential(secret=SECRET)
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# name -> (kind, [(role, project)])
PEOPLE: dict[str, list[tuple[str, str]]] = {
    "root": [("admin", "*")],
    "vera": [("viewer", "fraud")],
    "dana": [("data-scientist", "fraud")],
    "dave": [("data-scientist", "fraud")],
    "abby": [("approver", "fraud")],
    "olga": [("auditor", "*")],
    "nick": [("data-scientist", "vision")],
}


@dataclass
class Clock:
    now: datetime = NOON

    def __call__(self) -> datetime:
        return self.now


@dataclass
class ServerWorld:
    root: Path
    ctx: ServerContext
    app: Any
    clock: Clock
    keys: dict[str, str] = field(default_factory=dict)

    def client(self, who: str | None = None, **headers: str) -> TestClient:
        """An in-process client authenticated as ``who`` (None: anonymous)."""
        all_headers = dict(headers)
        if who is not None:
            all_headers["Authorization"] = f"Bearer {self.keys[who]}"
        return TestClient(self.app, base_url="https://testserver", headers=all_headers)

    def close(self) -> None:
        self.ctx.close()


def make_world(
    root: Path,
    settings: ServerSettings | None = None,
    *,
    people: dict[str, list[tuple[str, str]]] | None = None,
) -> ServerWorld:
    """A workspace at ``root`` with the given people (default :data:`PEOPLE`) and keys."""
    init_workspace(root, CREDENTIAL)
    clock = Clock()
    ctx = open_context(root, CREDENTIAL, settings or ServerSettings(), clock=clock)
    for project in ("fraud", "vision"):
        ctx.identity.create_project(project)
    keys: dict[str, str] = {}
    for name, bindings in (people or PEOPLE).items():
        ctx.identity.create_principal(name)
        for role, project in bindings:
            ctx.identity.grant(name, role, project)
        keys[name], _info = ctx.identity.issue_api_key(name, label="test")
    app = create_app(ctx, close_on_shutdown=False)
    return ServerWorld(root, ctx, app, clock, keys)


def sklearn_model_bytes(features: int = 4, seed: int = 0) -> bytes:
    """A small fitted LogisticRegression, pickled (what users upload)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, features))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    buffer = io.BytesIO()
    pickle.dump(model, buffer)
    return buffer.getvalue()


def malicious_pickle(marker: Path) -> bytes:
    """A pickle that would create ``marker`` if anything ever unpickled it."""

    class Touch:
        def __reduce__(self) -> tuple[Any, ...]:
            return (open, (str(marker), "w"))

    return pickle.dumps(Touch())


def tabular_schema(features: int = 4) -> dict[str, Any]:
    return {
        "kind": "tabular",
        "features": [
            {"name": f"f{i}", "dtype": "float", "min": -10.0, "max": 10.0} for i in range(features)
        ],
        "max_rows": 256,
    }


def upload(
    client: httpx.Client,
    project: str,
    name: str,
    data: bytes,
    *,
    framework: str | None = "sklearn",
    schema: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
) -> httpx.Response:
    import json

    form: dict[str, str] = {"name": name, "kind": "model"}
    if framework:
        form["framework"] = framework
        form["input_schema"] = json.dumps(schema or tabular_schema())
    if labels:
        form["labels"] = json.dumps(labels)
    return client.post(
        f"/api/v1/projects/{project}/artifacts",
        data=form,
        files={"file": (f"{name}.pkl", data, "application/octet-stream")},
    )
