"""Every route x every role x (own project, other project) -> the expected allow or deny.

The routes come from the app's own route table, so a new route without a declared action,
or one missing from the expectations below, fails here. The expected table is written out
by hand from the documented role model (docs/server.md), not derived from the policies.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from server_fixtures import ServerWorld, make_world, sklearn_model_bytes, upload

from mlwarden.server.guard import ACTION_KEY, PUBLIC, SELF

ROLES = ("viewer", "data-scientist", "approver", "auditor", "admin")

VIEW = {"artifact.list", "artifact.read", "model.predict"}
EXPECTED_IN_PROJECT: dict[str, set[str]] = {
    "viewer": VIEW,
    "data-scientist": VIEW
    | {
        "artifact.download",
        "artifact.upload",
        "artifact.sign",
        "artifact.verify",
        "model.promote.request",
    },
    "approver": VIEW | {"model.promote.approve"},
    "auditor": {"artifact.list", "artifact.read"},
    "admin": VIEW
    | {
        "artifact.download",
        "artifact.upload",
        "artifact.sign",
        "artifact.verify",
        "artifact.delete",
        "model.promote.request",
        "model.promote.approve",
    },
}
GLOBAL_ACTIONS = {"ledger.read", "access.read", "admin.principals"}
EXPECTED_GLOBAL: dict[str, set[str]] = {
    "viewer": set(),
    "data-scientist": set(),
    "approver": set(),
    "auditor": {"ledger.read", "access.read"},
    "admin": {"ledger.read", "access.read", "admin.principals"},
}
NON_API_PATHS = {"/api/v1/openapi.json", "/api/v1/docs"}


def _flatten(routes: list[Any]) -> Iterator[tuple[str, Any]]:
    """(full path, route) for every route, through included routers."""
    for route in routes:
        if hasattr(route, "effective_candidates"):  # an included router (FastAPI >= 0.16x)
            for candidate in route.effective_candidates():
                if hasattr(candidate, "effective_candidates"):
                    yield from _flatten([candidate])
                else:
                    route_ = candidate.original_route
                    yield candidate.path or getattr(route_, "path", ""), route_
        else:
            yield route.path, route


def _routes(world: ServerWorld) -> list[tuple[str, str, str]]:
    """(method, path, action) for every route; fails on a route without an action."""
    out = []
    for path, route in _flatten(list(world.app.routes)):
        if not isinstance(route, APIRoute):
            assert path in NON_API_PATHS or path.startswith("/ui/static"), path
            continue
        action = (route.openapi_extra or {}).get(ACTION_KEY)
        assert action, f"{sorted(route.methods)} {path} declares no action"
        for method in sorted(route.methods - {"HEAD"}):
            out.append((method, path, action))
    assert len(out) > 20, "the route table was not read"
    return out


class Fixtures:
    """Concrete resources in the own (fraud) and other (vision) project."""

    def __init__(self, world: ServerWorld) -> None:
        self.world = world
        self.counter = itertools.count()
        identity = world.ctx.identity
        for name, role, project in (
            ("vapp", "approver", "vision"),
            *((f"m-{r}", r, "fraud") for r in ROLES),
            *((f"g-{r}", r, "*") for r in ROLES),
        ):
            identity.create_principal(name)
            identity.grant(name, role, project)
            world.keys[name], _ = identity.issue_api_key(name)
        self.model = {
            "fraud": self._production("fraud", "dana", "abby"),
            "vision": self._production("vision", "nick", "vapp"),
        }

    def _upload(self, project: str, who: str) -> str:
        name = f"{project}-m{next(self.counter)}"
        reply = upload(self.world.client(who), project, name, sklearn_model_bytes())
        assert reply.status_code == 201, reply.text
        return str(reply.json()["artifact"]["reference"])

    def _promotion(self, project: str) -> int:
        who = "dana" if project == "fraud" else "nick"
        ref = self._upload(project, who)
        reply = self.world.client(who).post(f"/api/v1/artifacts/{ref}/promote/staging", json={})
        assert reply.status_code == 201, reply.text
        return int(reply.json()["id"])

    def _production(self, project: str, who: str, approver: str) -> str:
        ref = self._upload(project, who)
        for stage in ("staging", "production"):
            reply = self.world.client(who).post(f"/api/v1/artifacts/{ref}/promote/{stage}", json={})
            assert reply.status_code == 201, reply.text
            pid = reply.json()["id"]
            vote = self.world.client(approver).post(f"/api/v1/promotions/{pid}/approve", json={})
            assert vote.status_code == 200, vote.text
        return ref.split(":")[0]

    def fill(self, method: str, path: str, project: str) -> str:
        """``path`` with its parameters bound to fresh or shared resources of ``project``."""
        fresh_target = method in ("DELETE", "POST")

        def value(match: re.Match[str]) -> str:
            param = match.group(1)
            if param == "project":
                return project
            if param == "ref":
                who = "dana" if project == "fraud" else "nick"
                if fresh_target:
                    return self._upload(project, who)
                return self.shared_ref(project)
            if param == "to_stage":
                return "staging"
            if param == "promotion_id":
                return str(self._promotion(project))
            if param == "name":
                if path.startswith("/api/v1/models"):
                    return self.model[project]
                fresh = f"p{next(self.counter)}"
                self.world.ctx.identity.create_principal(fresh)
                return fresh
            if param == "seq":
                return "0"
            if param == "key_id":
                fresh = f"k{next(self.counter)}"
                self.world.ctx.identity.create_principal(fresh)
                _plain, info = self.world.ctx.identity.issue_api_key(fresh)
                return info.key_id
            if param == "group":
                return "team"
            raise AssertionError(f"no value for {{{param}}} in {path}")

        return re.sub(r"\{([a-z_]+)(?::[a-z]+)?\}", value, path)

    _shared: dict[str, str] = {}

    def shared_ref(self, project: str) -> str:
        if project not in self._shared:
            self._shared[project] = self._upload(project, "dana" if project == "fraud" else "nick")
        return self._shared[project]


def _body(method: str, path: str, counter: Iterator[int]) -> dict[str, Any]:
    if method != "POST":
        return {}
    if path.endswith("/artifacts"):
        n = next(counter)
        return {
            "data": {"name": f"up{n}", "kind": "model"},
            "files": {"file": ("m.pkl", sklearn_model_bytes(), "application/octet-stream")},
        }
    if path.endswith("/predict"):
        return {"json": {"inputs": [[0.1, 0.2, 0.3, 0.4]]}}
    if path == "/api/v1/admin/principals" or path == "/api/v1/admin/projects":
        return {"json": {"name": f"new{next(counter)}"}}
    if path.startswith("/api/v1/admin/grants"):
        return {"json": {"subject": "vera", "role": "viewer", "project": "vision"}}
    if path.endswith("/members"):
        return {"json": {"name": "vera"}}
    if path.startswith("/ui/"):
        return {"data": {}}
    return {"json": {}}


@pytest.fixture(scope="module")
def matrix_world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerWorld, Fixtures]]:
    world = make_world(Path(tmp_path_factory.mktemp("matrix")) / "ws")
    try:
        yield world, Fixtures(world)
    finally:
        world.close()


def _call(world: ServerWorld, who: str | None, method: str, url: str, body: dict[str, Any]) -> int:
    client = world.client(who)
    reply = client.request(method, url, follow_redirects=False, **body)
    return reply.status_code


def test_every_route_declares_an_action(matrix_world: tuple[ServerWorld, Fixtures]) -> None:
    world, _ = matrix_world
    actions = {action for _m, _p, action in _routes(world)}
    known = set().union(*EXPECTED_IN_PROJECT.values()) | GLOBAL_ACTIONS | {PUBLIC, SELF}
    assert actions <= known, f"routes perform actions the matrix does not know: {actions - known}"


def test_unauthenticated_requests_are_refused_on_every_route(
    matrix_world: tuple[ServerWorld, Fixtures],
) -> None:
    world, fx = matrix_world
    counter = itertools.count(10_000)
    for method, path, action in _routes(world):
        if action == PUBLIC:
            continue
        url = fx.fill(method, path, "fraud")
        status = _call(world, None, method, url, _body(method, path, counter))
        if path.startswith("/ui"):
            # Pages redirect to the login form; forms may fail their CSRF check first.
            refused = (401, 303) if method == "GET" else (401, 303, 403)
            assert status in refused, f"{method} {path}: {status}"
        else:
            assert status == 401, f"{method} {path}: {status}"


def _cases() -> list[tuple[str, bool]]:
    return [(role, own) for role in ROLES for own in (True, False)]


@pytest.mark.parametrize(("role", "own"), _cases(), ids=lambda v: str(v))
def test_role_in_own_and_other_project(
    matrix_world: tuple[ServerWorld, Fixtures], role: str, own: bool
) -> None:
    world, fx = matrix_world
    counter = itertools.count(20_000 + ROLES.index(role) * 1000 + (500 if own else 0))
    project = "fraud" if own else "vision"
    wrong: list[str] = []
    for method, path, action in _routes(world):
        if action in (PUBLIC, SELF):
            continue
        if action in GLOBAL_ACTIONS:
            who = f"g-{role}" if own else f"m-{role}"
            expected = action in EXPECTED_GLOBAL[role] if own else False
        else:
            who = f"m-{role}"
            expected = own and action in EXPECTED_IN_PROJECT[role]
        url = fx.fill(method, path, project)
        status = _call(world, who, method, url, _body(method, path, counter))
        allowed = status not in (401, 403)
        if allowed != expected:
            wrong.append(
                f"{method} {path} as {who} ({action}): {status}, expected "
                f"{'allow' if expected else 'deny'}"
            )
    assert not wrong, "\n".join(wrong)


def test_matrix_names_each_role_once() -> None:
    assert set(EXPECTED_IN_PROJECT) == set(EXPECTED_GLOBAL) == set(ROLES)
