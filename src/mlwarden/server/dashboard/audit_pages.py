"""The ledger and access log for auditors: entries, one entry's inclusion proof, alerts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Request, Response

from mlwarden.server.dashboard.forms import context_of
from mlwarden.server.dashboard.ledger_proof import check_inclusion
from mlwarden.server.dashboard.pages import render, router
from mlwarden.server.guard import Caller, action_extra, guarded
from mlwarden.server.routes.ledger_routes import entries_page
from mlwarden.server.routes.resources import ledger_resource

PAGE = 50


def _number(raw: str | None, what: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise HTTPException(status_code=404, detail=f"no such {what}")
    return int(raw)


@router.get("/ui/ledger", openapi_extra=action_extra("ledger.read"))
def ledger_page(
    request: Request,
    caller: Annotated[Caller, guarded("ledger.read", ledger_resource, cookie=True)],
) -> Response:
    """Ledger entries, newest first, 50 to a page (``?before=SEQ`` for older ones)."""
    ctx = context_of(request)
    before = _number(request.query_params.get("before"), "page")
    entries = entries_page(ctx, before, PAGE)
    older = entries[-1]["seq"] if entries and entries[-1]["seq"] > 0 else None
    return render(
        "ledger.html",
        caller,
        entries=entries,
        older=older,
        size=ctx.vault.ledger.head().tree_size,
    )


@router.get("/ui/ledger/{seq}", openapi_extra=action_extra("ledger.read"))
def ledger_entry_page(
    request: Request,
    seq: str,
    caller: Annotated[Caller, guarded("ledger.read", ledger_resource, cookie=True)],
) -> Response:
    """One entry and the server-side check of its inclusion in the latest checkpoint."""
    ctx = context_of(request)
    number = _number(seq, "ledger entry")
    assert number is not None
    check = check_inclusion(ctx.vault.ledger, ctx.vault.verifier, number)
    if check is None:
        raise HTTPException(status_code=404, detail="no such ledger entry")
    return render("ledger_entry.html", caller, check=check)


def _why(entry: dict[str, Any]) -> str:
    """The reasons a denial's details give (policy ids, "risk", a folded reason)."""
    details = entry.get("details")
    if not isinstance(details, dict):
        return ""
    reasons = details.get("reasons")
    if isinstance(reasons, list):
        return "; ".join(str(r) for r in reasons)
    reason, count = details.get("reason"), details.get("count")
    if reason is None:
        return ""
    return f"{reason} (x{count})" if count else str(reason)


@router.get("/ui/access", openapi_extra=action_extra("access.read"))
def access_page(
    request: Request,
    caller: Annotated[Caller, guarded("access.read", ledger_resource, cookie=True)],
) -> Response:
    """Recent denials and step-up demands from the ledger, and alerts of this process."""
    ctx = context_of(request)
    decisions = [{**e, "why": _why(e)} for e in entries_page(ctx, None, 100, "access")]
    alerts = [a.as_dict() for a in reversed(list(ctx.recent_alerts))]
    return render("access.html", caller, decisions=decisions, alerts=alerts)
