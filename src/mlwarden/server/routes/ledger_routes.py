"""The ledger over HTTP: entries, signed checkpoints, inclusion and consistency proofs."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from mlwarden.server.context import ServerContext
from mlwarden.server.guard import Caller, action_extra, guarded
from mlwarden.server.routes.resources import ledger_resource

router = APIRouter(prefix="/api/v1", tags=["ledger"])

MAX_PAGE = 500


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


def entries_page(
    ctx: ServerContext, start: int | None, limit: int, prefix: str | None = None
) -> list[dict[str, Any]]:
    """Newest-first page of entries ending before ``start`` (``None``: the head)."""
    size = ctx.vault.ledger.head().tree_size
    stop = size if start is None else max(0, min(start, size))
    out: list[dict[str, Any]] = []
    window = limit if prefix is None else limit * 20
    lo = max(0, stop - window)
    for stored in ctx.vault.ledger.entries(lo, stop):
        body = json.loads(stored.body)
        if (
            prefix is None
            or str(body.get("action", "")).startswith(prefix)
            or (prefix == "access" and body.get("decision") in ("deny", "step_up"))
        ):
            out.append({"seq": stored.seq, "leaf_hash": stored.leaf_hash.hex(), **body})
    return list(reversed(out))[:limit]


@router.get("/ledger/entries", openapi_extra=action_extra("ledger.read"))
async def ledger_entries(
    request: Request,
    before: int | None = Query(default=None, ge=0),
    limit: int = Query(default=100, ge=1, le=MAX_PAGE),
    caller: Caller = guarded("ledger.read", ledger_resource),
) -> list[dict[str, Any]]:
    return await run_in_threadpool(entries_page, _ctx(request), before, limit)


@router.get("/ledger/checkpoint", openapi_extra=action_extra("ledger.read"))
async def ledger_checkpoint(
    request: Request, caller: Caller = guarded("ledger.read", ledger_resource)
) -> dict[str, Any]:
    """The newest signed checkpoint (verify it with the workspace's ledger.pub)."""
    ctx = _ctx(request)
    checkpoint = await run_in_threadpool(ctx.vault.ledger.latest_checkpoint, ctx.vault.verifier)
    if checkpoint is None:
        raise HTTPException(status_code=404, detail="no signed checkpoint yet")
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash.hex(),
        "note": checkpoint.note,
    }


@router.get("/ledger/proof/{seq}", openapi_extra=action_extra("ledger.read"))
async def ledger_proof(
    request: Request,
    seq: int,
    tree_size: int | None = Query(default=None, ge=1),
    caller: Caller = guarded("ledger.read", ledger_resource),
) -> dict[str, Any]:
    """RFC 6962 inclusion proof of entry ``seq`` in the tree of ``tree_size`` entries."""
    ctx = _ctx(request)
    ledger = ctx.vault.ledger
    size = tree_size or ledger.head().tree_size
    if seq < 0 or seq >= size or size > ledger.head().tree_size:
        raise HTTPException(status_code=404, detail="no such entry in a tree of that size")
    proof = await run_in_threadpool(ledger.inclusion_proof, seq, size)
    root = await run_in_threadpool(ledger.root_at, size)
    leaf = next(iter(ledger.entries(seq, seq + 1)))
    return {
        "seq": seq,
        "tree_size": size,
        "leaf_hash": leaf.leaf_hash.hex(),
        "root_hash": root.hex(),
        "proof": [p.hex() for p in proof],
    }


@router.get("/ledger/consistency", openapi_extra=action_extra("ledger.read"))
async def ledger_consistency(
    request: Request,
    old_size: int = Query(ge=1),
    new_size: int | None = Query(default=None, ge=1),
    caller: Caller = guarded("ledger.read", ledger_resource),
) -> dict[str, Any]:
    ledger = _ctx(request).vault.ledger
    head = ledger.head().tree_size
    size = new_size or head
    if old_size > size or size > head:
        raise HTTPException(status_code=404, detail="sizes out of range")
    proof = await run_in_threadpool(ledger.consistency_proof, old_size, size)
    return {"old_size": old_size, "new_size": size, "proof": [p.hex() for p in proof]}


@router.get("/access/decisions", openapi_extra=action_extra("access.read"))
async def access_decisions(
    request: Request,
    limit: int = Query(default=100, ge=1, le=MAX_PAGE),
    caller: Caller = guarded("access.read", ledger_resource),
) -> list[dict[str, Any]]:
    """Recent denials and step-up demands."""
    return await run_in_threadpool(entries_page, _ctx(request), None, limit, "access")


@router.get("/access/alerts", openapi_extra=action_extra("access.read"))
def access_alerts(
    request: Request, caller: Caller = guarded("access.read", ledger_resource)
) -> list[dict[str, Any]]:
    return [a.as_dict() for a in reversed(_ctx(request).recent_alerts)]
