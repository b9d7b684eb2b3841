"""Administration: principals and keys, with forms to create, grant, issue and revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from mlwarden.errors import UsageError
from mlwarden.identity.model import PRINCIPAL_KINDS, ROLES
from mlwarden.server.context import ServerContext
from mlwarden.server.dashboard.forms import checked_form, context_of, text
from mlwarden.server.dashboard.pages import notice, render, router
from mlwarden.server.guard import Caller, action_extra, guarded
from mlwarden.server.routes.resources import admin_resource

ACTION = "admin.principals"
MAX_KEY_DAYS = 3650


AdminPost = Annotated[Caller, guarded(ACTION, admin_resource, cookie=True, record_allow=False)]
"""An admin form's caller; the allow is recorded once the form passed its CSRF check."""


def _audit(ctx: ServerContext, caller: Caller, action: str, details: dict[str, Any]) -> None:
    ctx.vault.acting_as(caller.name).audit(action, "allow", None, details)


def _refused(exc: UsageError | LookupError | ValueError) -> HTTPException:
    return HTTPException(status_code=404 if isinstance(exc, LookupError) else 422, detail=str(exc))


@router.get("/ui/admin", openapi_extra=action_extra(ACTION))
def admin_page(
    request: Request, caller: Annotated[Caller, guarded(ACTION, admin_resource, cookie=True)]
) -> Response:
    """Every principal and key, with the forms to change them."""
    ctx = context_of(request)
    return render(
        "admin.html",
        caller,
        notice=notice(request),
        principals=ctx.identity.list_principals(),
        keys=ctx.identity.list_api_keys(),
        projects=ctx.identity.list_projects(),
        roles=ROLES,
        kinds=PRINCIPAL_KINDS,
        now=ctx.clock(),
    )


@router.post(
    "/ui/admin/principals",
    openapi_extra=action_extra(ACTION),
)
async def create_principal(request: Request, caller: AdminPost) -> Response:
    """Create a principal (enabled, without roles)."""
    ctx = context_of(request)
    form = await checked_form(request, caller, ACTION)
    name = text(form, "name", limit=63, required=True)
    kind = text(form, "kind", limit=16) or "user"
    try:
        await run_in_threadpool(ctx.identity.create_principal, name, kind)
    except (UsageError, LookupError, ValueError) as exc:
        raise _refused(exc) from None
    await run_in_threadpool(
        _audit, ctx, caller, "admin.principal.create", {"name": name, "kind": kind}
    )
    return RedirectResponse("/ui/admin?notice=created", status_code=303)


@router.post(
    "/ui/admin/grants",
    openapi_extra=action_extra(ACTION),
)
async def grant(request: Request, caller: AdminPost) -> Response:
    """Bind a role to a principal or group, in one project or all."""
    ctx = context_of(request)
    form = await checked_form(request, caller, ACTION)
    subject = text(form, "subject", limit=70, required=True)
    role = text(form, "role", limit=32, required=True)
    project = text(form, "project", limit=63) or "*"
    try:
        await run_in_threadpool(ctx.identity.grant, subject, role, project)
    except (UsageError, LookupError, ValueError) as exc:
        raise _refused(exc) from None
    details = {"subject": subject, "role": role, "project": project}
    await run_in_threadpool(_audit, ctx, caller, "admin.grant", details)
    return RedirectResponse("/ui/admin?notice=granted", status_code=303)


@router.post(
    "/ui/admin/keys",
    openapi_extra=action_extra(ACTION),
)
async def issue_key(request: Request, caller: AdminPost) -> Response:
    """A new API key; its plaintext is on this response's page only (never redirected to,
    never stored)."""
    ctx = context_of(request)
    form = await checked_form(request, caller, ACTION)
    principal = text(form, "principal", limit=63, required=True)
    label = text(form, "label", limit=200)
    days_raw = text(form, "ttl_days", limit=4)
    if days_raw and (not days_raw.isdigit() or not 1 <= int(days_raw) <= MAX_KEY_DAYS):
        raise HTTPException(status_code=422, detail=f"ttl_days: a number from 1 to {MAX_KEY_DAYS}")
    ttl = timedelta(days=int(days_raw)) if days_raw else None
    try:
        plaintext, info = await run_in_threadpool(
            lambda: ctx.identity.issue_api_key(principal, label=label, ttl=ttl)
        )
    except (UsageError, LookupError, ValueError) as exc:
        raise _refused(exc) from None
    details = {"name": principal, "key_id": info.key_id}
    await run_in_threadpool(_audit, ctx, caller, "admin.key.issue", details)
    return render("key_issued.html", caller, status_code=201, info=info, plaintext=plaintext)


@router.post(
    "/ui/admin/keys/{key_id}/revoke",
    openapi_extra=action_extra(ACTION),
)
async def revoke_key(request: Request, key_id: str, caller: AdminPost) -> Response:
    """Revoke a key at once, in every server process."""
    ctx = context_of(request)
    await checked_form(request, caller, ACTION)
    try:
        await run_in_threadpool(ctx.identity.revoke_api_key, key_id[:64])
    except (UsageError, LookupError, ValueError) as exc:
        raise _refused(exc) from None
    await run_in_threadpool(_audit, ctx, caller, "admin.key.revoke", {"key_id": key_id[:64]})
    return RedirectResponse("/ui/admin?notice=revoked", status_code=303)
