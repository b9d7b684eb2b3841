"""Administration of principals, groups, role bindings, projects and API keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from mlwarden.errors import UsageError
from mlwarden.server.context import ServerContext
from mlwarden.server.guard import Caller, action_extra, guarded
from mlwarden.server.routes.resources import admin_resource

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])
ACTION = "admin.principals"


class PrincipalRequest(BaseModel):
    name: str = Field(min_length=1, max_length=63)
    kind: str = Field(default="user", pattern="^(user|service)$")


class KeyRequest(BaseModel):
    label: str = Field(default="", max_length=200)
    ttl_days: int | None = Field(default=None, ge=1, le=3650)


class GrantRequest(BaseModel):
    subject: str = Field(min_length=1, max_length=70, description="principal name or group:NAME")
    role: str = Field(min_length=1, max_length=32)
    project: str = Field(default="*", min_length=1, max_length=63)


class MemberRequest(BaseModel):
    name: str = Field(min_length=1, max_length=63)


class ProjectRequest(BaseModel):
    name: str = Field(min_length=1, max_length=63)


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


def _bad(exc: UsageError | LookupError | ValueError) -> HTTPException:
    if isinstance(exc, LookupError):
        return HTTPException(status_code=404, detail=str(exc))
    return HTTPException(status_code=422, detail=str(exc))


def _audit(ctx: ServerContext, caller: Caller, action: str, details: dict[str, Any]) -> None:
    ctx.vault.acting_as(caller.name).audit(action, "allow", None, details)


def principal_view(principal: Any) -> dict[str, Any]:
    return {
        "name": principal.name,
        "kind": principal.kind,
        "disabled": principal.disabled,
        "groups": list(principal.groups),
        "bindings": [{"role": b.role, "project": b.project} for b in principal.bindings],
        "totp_enrolled": principal.totp_enrolled,
        "created_at": principal.created_at.isoformat(),
    }


@router.get("/principals", openapi_extra=action_extra(ACTION))
def list_principals(
    request: Request, caller: Caller = guarded(ACTION, admin_resource)
) -> list[dict[str, Any]]:
    return [principal_view(p) for p in _ctx(request).identity.list_principals()]


@router.post("/principals", openapi_extra=action_extra(ACTION), status_code=201)
def create_principal(
    request: Request, body: PrincipalRequest, caller: Caller = guarded(ACTION, admin_resource)
) -> dict[str, Any]:
    ctx = _ctx(request)
    try:
        principal = ctx.identity.create_principal(body.name, kind=body.kind)
    except (UsageError, LookupError, ValueError) as exc:
        raise _bad(exc) from None
    _audit(ctx, caller, "admin.principal.create", {"name": body.name, "kind": body.kind})
    return principal_view(principal)


@router.post("/principals/{name}/disable", openapi_extra=action_extra(ACTION))
def disable_principal(
    request: Request, name: str, caller: Caller = guarded(ACTION, admin_resource)
) -> dict[str, Any]:
    ctx = _ctx(request)
    if name == caller.name:
        raise HTTPException(status_code=409, detail="an admin cannot disable itself")
    try:
        ctx.identity.disable(name)
    except (UsageError, LookupError, ValueError) as exc:
        raise _bad(exc) from None
    _audit(ctx, caller, "admin.principal.disable", {"name": name})
    return {"name": name, "disabled": True}


@router.post("/principals/{name}/keys", openapi_extra=action_extra(ACTION), status_code=201)
def issue_key(
    request: Request, name: str, body: KeyRequest, caller: Caller = guarded(ACTION, admin_resource)
) -> dict[str, Any]:
    """A new API key for ``name``: the plaintext is in this response only."""
    ctx = _ctx(request)
    ttl = timedelta(days=body.ttl_days) if body.ttl_days else None
    try:
        plaintext, info = ctx.identity.issue_api_key(name, label=body.label, ttl=ttl)
    except (UsageError, LookupError, ValueError) as exc:
        raise _bad(exc) from None
    _audit(ctx, caller, "admin.key.issue", {"name": name, "key_id": info.key_id})
    return {"key_id": info.key_id, "api_key": plaintext, "expires_at": info.expires_at}


@router.get("/keys", openapi_extra=action_extra(ACTION))
def list_keys(
    request: Request,
    principal: str | None = Query(default=None, max_length=63),
    caller: Caller = guarded(ACTION, admin_resource),
) -> list[dict[str, Any]]:
    keys = _ctx(request).identity.list_api_keys(principal)
    return [
        {
            "key_id": k.key_id,
            "principal": k.principal,
            "label": k.label,
            "created_at": k.created_at,
            "expires_at": k.expires_at,
            "last_used_at": k.last_used_at,
            "revoked_at": k.revoked_at,
        }
        for k in keys
    ]


@router.delete("/keys/{key_id}", openapi_extra=action_extra(ACTION))
def revoke_key(
    request: Request, key_id: str, caller: Caller = guarded(ACTION, admin_resource)
) -> dict[str, Any]:
    ctx = _ctx(request)
    try:
        ctx.identity.revoke_api_key(key_id)
    except (UsageError, LookupError, ValueError) as exc:
        raise _bad(exc) from None
    _audit(ctx, caller, "admin.key.revoke", {"key_id": key_id})
    return {"key_id": key_id, "revoked": True}


@router.post("/grants", openapi_extra=action_extra(ACTION), status_code=201)
def grant(
    request: Request, body: GrantRequest, caller: Caller = guarded(ACTION, admin_resource)
) -> dict[str, Any]:
    ctx = _ctx(request)
    try:
        ctx.identity.grant(body.subject, body.role, body.project)
    except (UsageError, LookupError, ValueError) as exc:
        raise _bad(exc) from None
    _audit(ctx, caller, "admin.grant", body.model_dump())
    return body.model_dump()


@router.post("/grants/revoke", openapi_extra=action_extra(ACTION))
def revoke_grant(
    request: Request, body: GrantRequest, caller: Caller = guarded(ACTION, admin_resource)
) -> dict[str, Any]:
    ctx = _ctx(request)
    try:
        ctx.identity.revoke(body.subject, body.role, body.project)
    except (UsageError, LookupError, ValueError) as exc:
        raise _bad(exc) from None
    _audit(ctx, caller, "admin.revoke", body.model_dump())
    return {**body.model_dump(), "revoked": True}


@router.post("/groups/{group}/members", openapi_extra=action_extra(ACTION), status_code=201)
def add_member(
    request: Request,
    group: str,
    body: MemberRequest,
    caller: Caller = guarded(ACTION, admin_resource),
) -> dict[str, Any]:
    ctx = _ctx(request)
    try:
        ctx.identity.add_to_group(group, body.name)
    except (UsageError, LookupError, ValueError) as exc:
        raise _bad(exc) from None
    _audit(ctx, caller, "admin.group.add", {"group": group, "name": body.name})
    return {"group": group, "name": body.name}


@router.get("/projects", openapi_extra=action_extra(ACTION))
def list_projects(request: Request, caller: Caller = guarded(ACTION, admin_resource)) -> list[str]:
    return list(_ctx(request).identity.list_projects())


@router.post("/projects", openapi_extra=action_extra(ACTION), status_code=201)
def create_project(
    request: Request, body: ProjectRequest, caller: Caller = guarded(ACTION, admin_resource)
) -> dict[str, str]:
    ctx = _ctx(request)
    try:
        ctx.identity.create_project(body.name)
    except (UsageError, LookupError, ValueError) as exc:
        raise _bad(exc) from None
    _audit(ctx, caller, "admin.project.create", {"name": body.name})
    return {"name": body.name}
