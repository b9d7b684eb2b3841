"""Resolvers: the resource a request acts on, as the policy engine sees it."""

from __future__ import annotations

from fastapi import HTTPException, Request

from mlwarden.errors import UsageError
from mlwarden.identity.names import check_name
from mlwarden.registry.records import STAGES
from mlwarden.server.context import ServerContext
from mlwarden.server.guard import Resource
from mlwarden.store.catalog.records import ArtifactRecord

GLOBAL = Resource("global", "mlwarden")


def artifact_resource(
    ctx: ServerContext, record: ArtifactRecord, *, stage: str | None = None
) -> Resource:
    """An artifact version with the attributes policies may test."""
    labels = {k: v for k, v in record.labels.items() if k != "project"}
    return Resource(
        type="artifact",
        id=record.reference,
        project=record.labels.get("project"),
        attributes={
            "creator": record.creator,
            "kind": record.kind,
            "stage": stage or ctx.registry.stage(record.id),
        },
        labels=labels,
        artifact=record,
    )


def lookup(ctx: ServerContext, reference: str) -> ArtifactRecord:
    """``name`` or ``name:version`` → record, or 404 (the same answer for "no such name" and
    "deleted", so names of hidden artifacts do not leak through error text)."""
    try:
        return ctx.vault.resolve(reference[:300])
    except UsageError:
        raise HTTPException(status_code=404, detail="no such artifact") from None


def artifact_from_path(request: Request, ctx: ServerContext) -> Resource:
    return artifact_resource(ctx, lookup(ctx, request.path_params["ref"]))


def project_from_path(request: Request, ctx: ServerContext) -> Resource:
    project = str(request.path_params["project"])
    try:
        check_name(project, "project")
    except UsageError:
        raise HTTPException(status_code=404, detail="no such project") from None
    if project not in ctx.identity.list_projects():
        raise HTTPException(status_code=404, detail="no such project")
    return Resource(type="project", id=project, project=project)


def model_from_path(request: Request, ctx: ServerContext) -> Resource:
    """The production version of the model named in the path (predictions)."""
    from mlwarden.server.served_models import NotServable

    try:
        record = ctx.models.current(ctx.vault, ctx.registry, str(request.path_params["name"]))
    except NotServable:
        raise HTTPException(status_code=404, detail="no model in production by that name") from None
    return ctx.models.view(record, lambda: artifact_resource(ctx, record, stage="production"))


def promotion_from_path(request: Request, ctx: ServerContext) -> Resource:
    """The artifact a promotion would move, with the target stage as an attribute."""
    raw = str(request.path_params["promotion_id"])
    if not raw.isdigit() or len(raw) > 12:
        raise HTTPException(status_code=404, detail="no such promotion")
    try:
        promotion = ctx.registry.promotion(int(raw))
    except LookupError:
        raise HTTPException(status_code=404, detail="no such promotion") from None
    record = ctx.vault.catalog.get_artifact(promotion.artifact_id)
    # For promotions the policy's ``stage`` is where the model would go.
    return artifact_resource(ctx, record, stage=promotion.to_stage)


def promotion_request_resource(request: Request, ctx: ServerContext) -> Resource:
    record = lookup(ctx, request.path_params["ref"])
    stage = str(request.path_params.get("to_stage", ""))
    return artifact_resource(ctx, record, stage=stage if stage in STAGES else "production")


def ledger_resource(request: Request, ctx: ServerContext) -> Resource:
    return Resource("ledger", "mlwarden")


def admin_resource(request: Request, ctx: ServerContext) -> Resource:
    return Resource("admin", "mlwarden")
