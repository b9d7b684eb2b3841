"""Signing in and out of the dashboard, and the home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from mlwarden.identity.model import Authenticated, AuthenticationError
from mlwarden.server.context import ServerContext
from mlwarden.server.dashboard.forms import MAX_FIELDS, checked_form, context_of, text
from mlwarden.server.dashboard.pages import (
    clear_session_cookie,
    notice,
    render,
    router,
)
from mlwarden.server.dashboard.protection import same_origin
from mlwarden.server.guard import (
    PUBLIC,
    SELF,
    SESSION_COOKIE,
    Caller,
    Resource,
    action_extra,
    client_address,
    guarded,
    record,
)
from mlwarden.server.routes.auth_routes import brake

LOGIN_FAILED = (
    "Sign-in failed. Check the name and the API key, and the one-time code if you have "
    "enrolled an authenticator."
)
_REASONS = {
    "signin": "Please sign in.",
    "step_up": "This request needs your one-time code: sign in again with it.",
    "signed_out": "You are signed out.",
}


@router.get("/", openapi_extra=action_extra(PUBLIC))
def root() -> RedirectResponse:
    """The bare host name leads to the dashboard."""
    return RedirectResponse("/ui/", status_code=303)


@router.get("/ui/login", openapi_extra=action_extra(PUBLIC))
def login_form(request: Request) -> Response:
    """The sign-in form (``?reason=`` picks a fixed explanation)."""
    reason = _REASONS.get(request.query_params.get("reason", ""))
    return render("login.html", None, reason=reason, name="")


def _verify(
    ctx: ServerContext, name: str, key: str, code: str, address: str
) -> Authenticated | None:
    """The session's authentication, or None (and a failed-login mark) for any mismatch."""
    auth: Authenticated | None
    try:
        auth = ctx.identity.verify_api_key(key) if key else None
    except AuthenticationError:
        auth = None
    factors = frozenset({"key"})
    ok = auth is not None and auth.principal.name == name
    if ok and auth is not None and auth.principal.totp_enrolled:
        ok = bool(code) and ctx.identity.verify_totp(name, code)
        factors |= {"otp"}
    if not ok or auth is None:
        ctx.identity.record_failed_login(name or "-", address)
        return None
    return Authenticated(auth.principal, "session", factors, auth.credential_id)


def _revoke_previous(ctx: ServerContext, request: Request) -> None:
    """A new sign-in in this browser ends the session it replaces."""
    old = request.cookies.get(SESSION_COOKIE)
    if not old:
        return
    try:
        _name, _factors, jti = ctx.tokens.verify(old)
    except AuthenticationError:
        return
    ctx.tokens.revoke(jti)


@router.post("/ui/login", openapi_extra=action_extra(PUBLIC))
async def login(request: Request) -> Response:
    """Exchange a principal name and API key (+ TOTP code) for a session cookie."""
    ctx = context_of(request)
    if not same_origin(request, required=True):
        raise HTTPException(status_code=403, detail="cross-site sign-in refused")
    await run_in_threadpool(brake, request, ctx)  # may ask Redis
    try:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    except Exception:  # malformed bodies raise several parser types
        raise HTTPException(status_code=400, detail="the form could not be read") from None
    name = text(form, "name", limit=63)
    key = text(form, "api_key", limit=512)
    code = text(form, "otp", limit=8)
    address = client_address(request)
    auth = await run_in_threadpool(_verify, ctx, name, key, code, address)
    if auth is None:
        ctx.ledger_writer.fold(f"address:{address}", "auth.login", "invalid_credentials")
        return render(
            "login.html", None, status_code=401, error=LOGIN_FAILED, reason=None, name=name
        )
    _revoke_previous(ctx, request)
    token = ctx.tokens.issue(auth)
    details = {"address": address, "factors": sorted(auth.factors), "method": "session"}
    record(ctx, name, "auth.login", "allow", Resource("principal", name), details)
    response = RedirectResponse("/ui/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ctx.tokens.ttl.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post(
    "/ui/logout",
    openapi_extra=action_extra(SELF),
)
async def logout(
    request: Request, caller: Annotated[Caller, guarded(SELF, cookie=True)]
) -> Response:
    """End the session: its token is revoked and the cookie dropped."""
    ctx = context_of(request)
    await checked_form(request, caller, "auth.logout")
    if caller.auth.method == "session" and caller.auth.credential_id:
        ctx.tokens.revoke(caller.auth.credential_id)
    response = RedirectResponse("/ui/login?reason=signed_out", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/ui/", openapi_extra=action_extra(SELF))
def home(request: Request, caller: Annotated[Caller, guarded(SELF, cookie=True)]) -> Response:
    """Who is signed in, with which roles, and where they lead."""
    ctx = context_of(request)
    principal = caller.auth.principal
    projects = [
        (project, sorted(principal.roles_in(project)))
        for project in ctx.identity.list_projects()
        if principal.roles_in(project)
    ]
    return render(
        "home.html",
        caller,
        notice=notice(request),
        principal=principal,
        method=caller.auth.method,
        projects=projects,
    )
