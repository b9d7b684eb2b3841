"""Guarded serving: ``POST /api/v1/models/{name}/predict``.

After the guard (authentication, risk, policy) a prediction passes the per-principal and
per-model token buckets (429 with Retry-After), the load shedder (503 before the process
falls over), a body size limit (413) and the model's declared input schema (422 naming the
field). Its traffic summary goes to the ledger and to the model's window for the monitor.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from mlwarden.gateway.input_schema import InputProblem
from mlwarden.gateway.rate_limit import Limit
from mlwarden.gateway.shedding import Overloaded
from mlwarden.gateway.traffic_summary import summarise
from mlwarden.server.context import ServerContext
from mlwarden.server.guard import Caller, action_extra, guarded, record
from mlwarden.server.routes.resources import model_from_path
from mlwarden.server.served_models import NotServable

router = APIRouter(prefix="/api/v1", tags=["serving"])

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


def _too_many(retry_after: float, what: str) -> HTTPException:
    return HTTPException(
        status_code=429,
        detail=f"rate limit for this {what} reached",
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
    )


async def _body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise HTTPException(status_code=413, detail=f"request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=f"request body larger than {limit} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise HTTPException(status_code=422, detail="body: not valid JSON") from None


@router.post(
    "/models/{name}/predict",
    openapi_extra={**action_extra("model.predict"), **_PREDICT_BODY},
)
async def predict(
    request: Request,
    name: str,
    caller: Caller = guarded("model.predict", model_from_path, record_allow=False),
) -> dict[str, Any]:
    ctx: ServerContext = request.app.state.ctx
    settings = ctx.settings
    own = settings.predict_per_principal
    verdict = ctx.limiter.acquire(f"p:{caller.name}", Limit(own.rate, own.burst))
    if not verdict.allowed:
        ctx.ledger_writer.fold(caller.name, "model.predict", "rate_limited_principal")
        raise _too_many(verdict.retry_after, "principal")
    shared = settings.predict_per_model
    verdict = ctx.limiter.acquire(f"m:{name}", Limit(shared.rate, shared.burst))
    if not verdict.allowed:
        ctx.ledger_writer.fold(caller.name, "model.predict", "rate_limited_model")
        raise _too_many(verdict.retry_after, "model")
    record_ = caller.resource.artifact
    assert record_ is not None
    try:
        async with ctx.shedder.slot():
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
    except Overloaded as exc:
        ctx.ledger_writer.fold(caller.name, "model.predict", "shed")
        raise HTTPException(
            status_code=503,
            detail="server busy",
            headers={"Retry-After": str(max(1, math.ceil(exc.retry_after)))},
        ) from None
    summary = summarise(inputs, prediction)
    loaded.window.add(inputs, prediction)
    record(
        ctx,
        caller.name,
        "model.predict",
        "allow",
        caller.resource,
        {**caller.details, "traffic": summary},
    )
    return {
        "model": record_.reference,
        "labels": prediction.labels,
        "scores": prediction.scores,
    }


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
