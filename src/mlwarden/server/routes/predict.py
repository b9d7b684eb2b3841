"""Guarded serving: ``POST /api/v1/models/{name}/predict``.

After the guard (authentication, risk, policy) a prediction passes the per-principal and
per-model token buckets (429 with Retry-After), the load shedder (503 before the process
falls over), a body size limit (413) and the model's declared input schema (422 naming the
field). Its rows and answer go to the model's window for the monitor and to the ledger
writer's tally of allowed predictions (one entry per principal, model version and decision
details per second, with the count and a traffic summary over all the rows).
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from mlwarden.gateway.input_schema import InputProblem
from mlwarden.gateway.rate_limit import Limit
from mlwarden.gateway.shedding import Overloaded
from mlwarden.server.context import ServerContext
from mlwarden.server.guard import (
    Caller,
    DirectRoute,
    action_extra,
    check_access,
    direct,
    guarded,
)
from mlwarden.server.routes.resources import model_from_path
from mlwarden.server.served_models import NotServable
from mlwarden.server.settings import ServerSettings

router = APIRouter(prefix="/api/v1", tags=["serving"], route_class=DirectRoute)

INLINE_ROWS = 64
"""Batches up to this size run on the event loop (a thread hop costs more than they do)."""

_PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {"inputs": {"type": "array", "items": {}}},
                }
            }
        },
    }
}


_LIMITS: dict[int, tuple[ServerSettings, Limit, Limit]] = {}


def _limits(settings: ServerSettings) -> tuple[Limit, Limit]:
    """The (per principal, per model) prediction limits of ``settings``, built once."""
    found = _LIMITS.get(id(settings))
    if found is None or found[0] is not settings:
        own, shared = settings.predict_per_principal, settings.predict_per_model
        found = (settings, Limit(own.rate, own.burst), Limit(shared.rate, shared.burst))
        if len(_LIMITS) >= 64:
            _LIMITS.clear()
        _LIMITS[id(settings)] = found
    return found[1], found[2]


def _too_many(retry_after: float, what: str) -> HTTPException:
    return HTTPException(
        status_code=429,
        detail=f"rate limit for this {what} reached",
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
    )


async def _body(request: Request, limit: int) -> Any:
    """The JSON body, read straight from the ASGI channel (what ``request.stream()`` does,
    without its generator), refused with 413 past ``limit`` bytes, declared or counted."""
    for name, value in request.scope["headers"]:
        if name == b"content-length":
            if not value.isdigit() or int(value) > limit:
                raise HTTPException(
                    status_code=413, detail=f"request body larger than {limit} bytes"
                )
            break
    chunks: list[bytes] = []
    size = 0
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise HTTPException(
                    status_code=413, detail=f"request body larger than {limit} bytes"
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()
    try:
        return json.loads(chunks[0] if len(chunks) == 1 else b"".join(chunks))
    except (ValueError, RecursionError):
        raise HTTPException(status_code=422, detail="body: not valid JSON") from None


# What JSONResponse writes (compact, UTF-8, no NaN), with the encoder built once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class _Answer(Response):
    """A prediction's JSON answer, byte for byte (headers included) what ``JSONResponse``
    would send, built without the general constructor's header handling."""

    media_type = "application/json"

    def __init__(self, content: dict[str, Any]) -> None:
        self.status_code = 200
        self.background = None
        self.body = self.render(content)
        self.raw_headers = [
            (b"content-length", str(len(self.body)).encode("latin-1")),
            (b"content-type", b"application/json"),
        ]

    def render(self, content: Any) -> bytes:
        return _ENCODER.encode(content).encode("utf-8")


async def _serve(request: Request, caller: Caller) -> dict[str, Any]:
    """One prediction for an authorized caller: limits, shedding, body, schema, model, then
    the tally (ledger entry with traffic summary) and the model's window."""
    ctx: ServerContext = request.app.state.ctx
    settings = ctx.settings
    own, shared = _limits(settings)
    verdict = ctx.limiter.acquire(f"p:{caller.name}", own)
    if not verdict.allowed:
        ctx.ledger_writer.fold(caller.name, "model.predict", "rate_limited_principal")
        raise _too_many(verdict.retry_after, "principal")
    name = str(request.path_params["name"])
    verdict = ctx.limiter.acquire(f"m:{name}", shared)
    if not verdict.allowed:
        ctx.ledger_writer.fold(caller.name, "model.predict", "rate_limited_model")
        raise _too_many(verdict.retry_after, "model")
    record_ = caller.resource.artifact
    assert record_ is not None
    shedder = ctx.shedder
    if not shedder.enter_now():
        try:
            await shedder.enter()
        except Overloaded as exc:
            ctx.ledger_writer.fold(caller.name, "model.predict", "shed")
            raise HTTPException(
                status_code=503,
                detail="server busy",
                headers={"Retry-After": str(max(1, math.ceil(exc.retry_after)))},
            ) from None
    try:
        payload = await _body(request, settings.max_json_bytes)
        try:
            loaded = ctx.models.get(ctx.vault, ctx.registry, record_)
        except NotServable as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        try:
            inputs = loaded.model.schema.validate(payload)
        except InputProblem as exc:
            raise HTTPException(
                status_code=422, detail={"field": exc.field, "problem": exc.message}
            ) from None
        if len(inputs) <= INLINE_ROWS:
            prediction = loaded.model.predict(inputs)
        else:
            prediction = await run_in_threadpool(loaded.model.predict, inputs)
    finally:
        shedder.leave()
    loaded.window.add(inputs, prediction)
    ctx.ledger_writer.tally(
        caller.name, "model.predict", record_.reference, caller.details, inputs, prediction
    )
    return {
        "model": record_.reference,
        "labels": prediction.labels,
        "scores": prediction.scores,
    }


async def _predict_directly(request: Request) -> Response:
    """The route as served: the guard, then :func:`_serve` (see :func:`guard.direct`)."""
    caller = await check_access(
        request, "model.predict", model_from_path, cookie=False, record_allow=False
    )
    return _Answer(await _serve(request, caller))


@router.post(
    "/models/{name}/predict",
    openapi_extra={**action_extra("model.predict"), **_PREDICT_BODY},
)
@direct(_predict_directly)
async def predict(
    request: Request,
    name: str,
    caller: Caller = guarded("model.predict", model_from_path, record_allow=False),
) -> dict[str, Any]:
    """Predict with the production version of ``name``.

    Served by ``_predict_directly`` (the same guard and steps, without FastAPI's dependency
    resolution); this signature declares the route for OpenAPI and the route table."""
    return await _serve(request, caller)


@router.get("/models/{name}/drift", openapi_extra=action_extra("artifact.read"))
async def drift(
    request: Request,
    name: str,
    caller: Caller = guarded("artifact.read", model_from_path),
) -> dict[str, Any]:
    """Compare the model's recent traffic with its training profile, now."""
    from mlwarden.formats.json_report import finding_dict
    from mlwarden.server.live_monitor import NoProfile, check_model

    ctx: ServerContext = request.app.state.ctx
    record_ = caller.resource.artifact
    assert record_ is not None
    try:
        loaded = ctx.models.get(ctx.vault, ctx.registry, record_)
        result = await run_in_threadpool(check_model, ctx, loaded)
    except NotServable as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    except NoProfile as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    if result is None:
        return {"model": record_.reference, "rows": len(loaded.window), "findings": None}
    return {
        "model": record_.reference,
        "rows": len(loaded.window),
        "findings": [finding_dict(f) for f in result.findings],
        "metrics": dict(result.metrics),
    }
