"""Promotion review: pending requests with approve and reject buttons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from mlwarden.registry.records import Promotion
from mlwarden.registry.service import RegistryRuleError
from mlwarden.server.context import ServerContext
from mlwarden.server.dashboard.forms import checked_form, context_of, text
from mlwarden.server.dashboard.pages import notice, render, router
from mlwarden.server.guard import SELF, Caller, action_extra, guarded
from mlwarden.server.routes.resources import promotion_from_path
from mlwarden.store.catalog.records import ArtifactRecord

RECENT = 20
"""Decided promotions shown under the pending ones."""


@dataclass(frozen=True)
class Item:
    """A promotion with its artifact, and whether the viewer may vote on it."""

    promotion: Promotion
    record: ArtifactRecord
    project: str | None
    may_vote: bool


@router.get("/ui/promotions", openapi_extra=action_extra(SELF))
def promotions_page(
    request: Request, caller: Annotated[Caller, guarded(SELF, cookie=True)]
) -> Response:
    """Promotions in projects where the viewer holds a role (admins: all), as in the API.

    Filtered here rather than by policy because the list spans projects; each vote is
    then authorized on its own artifact (``model.promote.approve``)."""
    ctx = context_of(request)
    principal = caller.auth.principal
    pending: list[Item] = []
    decided: list[Item] = []
    for promotion in ctx.registry.promotions():
        record = ctx.vault.catalog.get_artifact(promotion.artifact_id)
        project = record.labels.get("project")
        roles = principal.roles_in(project) if project is not None else frozenset()
        if not roles and not principal.has_global("admin"):
            continue
        # A hint for the buttons only; the vote itself goes through the guard.
        may_vote = bool(roles & {"approver", "admin"}) and principal.name not in (
            record.creator,
            promotion.requested_by,
        )
        item = Item(promotion, record, project, may_vote)
        if promotion.status == "pending":
            pending.append(item)
        elif len(decided) < RECENT:
            decided.append(item)
    return render(
        "promotions.html", caller, notice=notice(request), pending=pending, decided=decided
    )


def _record_vote(
    ctx: ServerContext, record: ArtifactRecord, pid: int, voter: str, approve: bool, note: str
) -> None:
    """Record a vote exactly as the API does: the registry's rules, then the ledger."""
    try:
        promotion = ctx.registry.vote(
            pid, voter, approve=approve, creator=record.creator, note=note
        )
    except RegistryRuleError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    ctx.vault.acting_as(voter).audit(
        "registry.promote.vote",
        "allow" if approve else "deny",
        record.reference,
        {"promotion": pid, "status": promotion.status, "to_stage": promotion.to_stage},
    )


async def _vote(request: Request, promotion_id: str, caller: Caller, approve: bool) -> Response:
    ctx = context_of(request)
    form = await checked_form(request, caller, "model.promote.approve")
    note = text(form, "note", limit=2000)
    record = caller.resource.artifact
    assert record is not None  # the resolver 404s otherwise
    pid = int(promotion_id)  # the resolver accepted it as digits
    await run_in_threadpool(_record_vote, ctx, record, pid, caller.name, approve, note)
    outcome = "approved" if approve else "rejected"
    return RedirectResponse(f"/ui/promotions?notice={outcome}", status_code=303)


@router.post(
    "/ui/promotions/{promotion_id}/approve",
    openapi_extra=action_extra("model.promote.approve"),
)
async def approve(
    request: Request,
    promotion_id: str,
    caller: Annotated[
        Caller,
        guarded("model.promote.approve", promotion_from_path, cookie=True, record_allow=False),
    ],
) -> Response:
    """Approve a promotion (never one of your own uploads or requests)."""
    return await _vote(request, promotion_id, caller, True)


@router.post(
    "/ui/promotions/{promotion_id}/reject",
    openapi_extra=action_extra("model.promote.approve"),
)
async def reject(
    request: Request,
    promotion_id: str,
    caller: Annotated[
        Caller,
        guarded("model.promote.approve", promotion_from_path, cookie=True, record_allow=False),
    ],
) -> Response:
    """Reject a promotion; one rejection closes it."""
    return await _vote(request, promotion_id, caller, False)
