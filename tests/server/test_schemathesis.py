"""Property-based API testing from the server's own OpenAPI document: no input, however
malformed, makes the server answer 5xx.

Schemathesis generates requests for every operation at ``/api/v1/openapi.json`` and sends
them in-process (ASGI), as an admin and once anonymously. Each operation is fuzzed with
schema-conforming (positive) and schema-violating (negative) data, both with generated path
parameters (mostly unknown resources) and with path parameters bound to real resources, so
that generated bodies and queries reach the handlers rather than stopping at a 404.
Examples are bounded per operation and derandomized, so a run is repeatable.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from server_fixtures import ServerWorld, make_world, sklearn_model_bytes, upload

MAX_EXAMPLES = 25
"""Generated requests per operation, per mode and per parameter binding."""
TIME_BUDGET = 420.0
"""Seconds one run may fuzz; operations left over are reported as a warning."""

KNOWN_5XX: dict[str, str] = {}
"""Operation label → the exact reason of a 5xx not fixed yet (the case is then xfail).
An entry whose 5xx no longer happens fails the test, so that the list stays true."""


@dataclass
class Resources:
    """Real resources that path parameters are bound to, by parameter name. Destructive
    operations get victims of their own so that the other operations keep their targets."""

    common: dict[str, str]
    destructive: dict[str, dict[str, str]]

    def for_operation(self, method: str, path: str) -> dict[str, str]:
        values = {**self.common, **self.destructive.get(f"{method} {path}", {})}
        return {name: value for name, value in values.items() if "{" + name + "}" in path}


@dataclass
class Fuzzed:
    """What a run found: 5xx answers and exceptions, by operation label."""

    failures: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        answered = sum(sum(c.values()) for c in self.statuses.values())
        return answered + sum(len(v) for v in self.failures.values())

    def add(self, label: str, text: str) -> None:
        self.failures.setdefault(label, []).append(text)


class _Errors(logging.Handler):
    """Keeps the last logged server error, to say why a 500 happened."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.last = text[:500]


def _populate(world: ServerWorld) -> Resources:
    """A model in production, a pending promotion, principals, a key and a group."""
    ds, ok = world.client("dana"), world.client("abby")

    def uploaded(name: str) -> str:
        reply = upload(ds, "fraud", name, sklearn_model_bytes())
        assert reply.status_code == 201, reply.text
        return str(reply.json()["artifact"]["reference"])

    def promotion(ref: str, stage: str) -> str:
        reply = ds.post(f"/api/v1/artifacts/{ref}/promote/{stage}", json={})
        assert reply.status_code == 201, reply.text
        return str(reply.json()["id"])

    served = uploaded("scorer")
    for stage in ("staging", "production"):
        vote = ok.post(f"/api/v1/promotions/{promotion(served, stage)}/approve", json={})
        assert vote.status_code == 200, vote.text
    pending = promotion(uploaded("candidate"), "staging")
    to_reject = promotion(uploaded("rejectable"), "staging")
    identity = world.ctx.identity
    for name in ("target", "victim"):
        identity.create_principal(name)
    _key, info = identity.issue_api_key("victim")
    identity.add_to_group("team", "target")
    return Resources(
        common={
            "project": "fraud",
            "ref": served,
            "to_stage": "staging",
            "promotion_id": pending,
            "name": "scorer",
            "group": "team",
        },
        destructive={
            "DELETE /api/v1/artifacts/{ref}": {"ref": uploaded("doomed")},
            "POST /api/v1/promotions/{promotion_id}/reject": {"promotion_id": to_reject},
            "POST /api/v1/admin/principals/{name}/disable": {"name": "victim"},
            "POST /api/v1/admin/principals/{name}/keys": {"name": "target"},
            "DELETE /api/v1/admin/keys/{key_id}": {"key_id": info.key_id},
        },
    )


def _run_operation(
    operation: Any,
    mode: GenerationMode,
    path_parameters: dict[str, str] | None,
    headers: dict[str, str],
    found: Fuzzed,
    errors: _Errors,
) -> None:
    label = str(operation.label)
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @given(case=strategy)
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        # Every failing example is recorded as it is; shrinking would only cost time.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        errors.last = ""
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # an exception escaping the app is a 500 to a real client
            found.add(label, f"{type(exc).__name__}: {exc} <- {_request(case, headers)}")
            return
        found.statuses.setdefault(label, Counter())[response.status_code] += 1
        if response.status_code >= 500:
            why = f" [{errors.last}]" if errors.last else ""
            found.add(label, f"{response.status_code}{why} <- {_request(case, headers)}")

    # Negative mode has nothing to break in an operation without inputs.
    with contextlib.suppress(Unsatisfiable):
        fuzz()


def _request(case: Any, headers: dict[str, str]) -> str:
    """The request as a curl command, credentials masked."""
    masked = {k: "***" for k in headers}
    return str(case.as_curl_command(headers=masked))[:800]


def fuzz_api(world: ServerWorld, resources: Resources | None, headers: dict[str, str]) -> Fuzzed:
    """Fuzz every operation of the app's schema; bounded by examples and by TIME_BUDGET."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", world.app)
    operations, broken = [], []
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            operations.append(result.ok())
        else:
            broken.append(str(result.err()))
    assert not broken, f"operations the OpenAPI document describes wrongly: {broken}"
    assert len(operations) > 20, "the OpenAPI document lost its operations"
    found = Fuzzed()
    errors = _Errors()
    server_log = logging.getLogger("mlwarden.server")
    server_log.addHandler(errors)
    began = time.monotonic()
    try:
        for operation in operations:
            if time.monotonic() - began > TIME_BUDGET:
                found.skipped.append(str(operation.label))
                continue
            bindings: list[dict[str, str] | None] = [None]
            if resources is not None:
                bound = resources.for_operation(operation.method.upper(), operation.path)
                if bound:
                    bindings.append(bound)
            for binding in bindings:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    _run_operation(operation, mode, binding, headers, found, errors)
    finally:
        server_log.removeHandler(errors)
    if found.skipped:
        warnings.warn(f"time budget spent; not fuzzed: {', '.join(found.skipped)}", stacklevel=2)
    return found


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerWorld, Resources]]:
    world = make_world(Path(tmp_path_factory.mktemp("fuzz")) / "ws")
    try:
        yield world, _populate(world)
    finally:
        world.close()


def _judge(found: Fuzzed) -> None:
    """Fail on unexpected 5xx; xfail on known ones; fail when a known one is gone."""
    unexpected = {k: v for k, v in found.failures.items() if k not in KNOWN_5XX}
    report = "\n".join(
        f"{label}: {len(cases)} x 5xx, e.g.\n    " + "\n    ".join(cases[:3])
        for label, cases in unexpected.items()
    )
    assert not unexpected, f"{found.requests} requests; 5xx answers:\n{report}"
    fixed = sorted(set(KNOWN_5XX) - set(found.failures))
    assert not fixed, f"no longer 5xx, remove from KNOWN_5XX: {fixed}"
    if found.failures:
        pytest.xfail("; ".join(f"{k}: {KNOWN_5XX[k]}" for k in sorted(found.failures)))


def test_no_generated_request_makes_the_server_fail_for_an_admin(
    fuzz_world: tuple[ServerWorld, Resources],
) -> None:
    world, resources = fuzz_world
    found = fuzz_api(world, resources, {"Authorization": f"Bearer {world.keys['root']}"})
    assert found.requests > 500
    _judge(found)


def test_no_generated_request_makes_the_server_fail_anonymously(
    fuzz_world: tuple[ServerWorld, Resources],
) -> None:
    world, resources = fuzz_world
    found = fuzz_api(world, resources, {})
    assert found.requests > 500
    _judge(found)
