"""Promotion of a model version between stages, approved by someone else."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from mlwarden.registry.service import RegistryRuleError
from mlwarden.server.context import ServerContext
from mlwarden.server.guard import SELF, Caller, action_extra, guarded
from mlwarden.server.routes.resources import (
    promotion_from_path,
    promotion_request_resource,
)
from mlwarden.server.routes.views import PromotionView, promotion_view

router = APIRouter(prefix="/api/v1", tags=["promotions"])


class PromotionRequest(BaseModel):
    reason: str = Field(default="", max_length=2000)


class VoteRequest(BaseModel):
    note: str = Field(default="", max_length=2000)


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


def _view(ctx: ServerContext, promotion_id: int) -> PromotionView:
    promotion = ctx.registry.promotion(promotion_id)
    record = ctx.vault.catalog.get_artifact(promotion.artifact_id)
    return promotion_view(promotion, record.reference)


@router.post(
    "/artifacts/{ref}/promote/{to_stage}",
    openapi_extra=action_extra("model.promote.request"),
    response_model=PromotionView,
    status_code=201,
)
def request_promotion(
    request: Request,
    ref: str,
    to_stage: str,
    body: PromotionRequest,
    caller: Caller = guarded("model.promote.request", promotion_request_resource),
) -> PromotionView:
    ctx = _ctx(request)
    record = caller.resource.artifact
    assert record is not None
    try:
        promotion = ctx.registry.request_promotion(record.id, to_stage, caller.name, body.reason)
    except RegistryRuleError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    ctx.vault.acting_as(caller.name).audit(
        "registry.promote.request", "allow", record.reference, {"to_stage": to_stage}
    )
    return _view(ctx, promotion.id)


@router.get(
    "/promotions",
    openapi_extra=action_extra(SELF),
    response_model=list[PromotionView],
)
def list_promotions(
    request: Request,
    status: str | None = Query(default=None, pattern="^(pending|approved|rejected)$"),
    caller: Caller = guarded(SELF),
) -> list[PromotionView]:
    """Promotions of artifacts in projects where the caller holds a role (admins: all).

    Filtered here rather than by policy: the list spans projects, and each principal sees
    only the part its bindings reach."""
    ctx = _ctx(request)
    principal = caller.auth.principal
    out = []
    for promotion in ctx.registry.promotions(status=status):
        record = ctx.vault.catalog.get_artifact(promotion.artifact_id)
        project = record.labels.get("project")
        if (project is not None and principal.roles_in(project)) or principal.has_global("admin"):
            out.append(promotion_view(promotion, record.reference))
    return out


def _vote(
    request: Request, promotion_id: int, caller: Caller, approve: bool, note: str
) -> PromotionView:
    ctx = _ctx(request)
    record = caller.resource.artifact
    assert record is not None
    try:
        promotion = ctx.registry.vote(
            promotion_id, caller.name, approve=approve, creator=record.creator, note=note
        )
    except RegistryRuleError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    ctx.vault.acting_as(caller.name).audit(
        "registry.promote.vote",
        "allow" if approve else "deny",
        record.reference,
        {"promotion": promotion_id, "status": promotion.status, "to_stage": promotion.to_stage},
    )
    return _view(ctx, promotion_id)


@router.post(
    "/promotions/{promotion_id}/approve",
    openapi_extra=action_extra("model.promote.approve"),
    response_model=PromotionView,
)
def approve_promotion(
    request: Request,
    promotion_id: int,
    body: VoteRequest,
    caller: Caller = guarded("model.promote.approve", promotion_from_path),
) -> PromotionView:
    return _vote(request, promotion_id, caller, True, body.note)


@router.post(
    "/promotions/{promotion_id}/reject",
    openapi_extra=action_extra("model.promote.approve"),
    response_model=PromotionView,
)
def reject_promotion(
    request: Request,
    promotion_id: int,
    body: VoteRequest,
    caller: Caller = guarded("model.promote.approve", promotion_from_path),
) -> PromotionView:
    return _vote(request, promotion_id, caller, False, body.note)
