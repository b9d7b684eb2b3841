"""Sessions: exchange a credential for a short-lived token, step up with TOTP, enrol TOTP."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from mlwarden.gateway.rate_limit import Limit
from mlwarden.identity.model import Authenticated
from mlwarden.server.context import ServerContext
from mlwarden.server.guard import SELF, Caller, action_extra, client_address, guarded

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenRequest(BaseModel):
    otp: str | None = Field(default=None, min_length=6, max_length=8, pattern="^[0-9]+$")


class StepUpRequest(BaseModel):
    otp: str = Field(min_length=6, max_length=8, pattern="^[0-9]+$")


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


def brake(request: Request, ctx: ServerContext) -> None:
    """Per-address limit on credential exchanges: slows guessing of keys and codes."""
    setting = ctx.settings.auth_per_address
    verdict = ctx.auth_limiter.acquire(
        f"auth:{client_address(request)}", Limit(setting.rate, setting.burst)
    )
    if not verdict.allowed:
        ctx.ledger_writer.fold(f"address:{client_address(request)}", "auth.token", "rate_limited")
        raise HTTPException(
            status_code=429,
            detail="too many attempts",
            headers={"Retry-After": str(max(1, math.ceil(verdict.retry_after)))},
        )


def with_otp(ctx: ServerContext, auth: Authenticated, code: str, address: str) -> Authenticated:
    """``auth`` with the ``otp`` factor added, or 401 (and a failed-login mark)."""
    name = auth.principal.name
    if not auth.principal.totp_enrolled or not ctx.identity.verify_totp(name, code):
        ctx.identity.record_failed_login(name, address)
        ctx.vault.acting_as(name).audit("auth.step_up", "deny", None, {"address": address})
        raise HTTPException(status_code=401, detail="the one-time code was not accepted")
    return Authenticated(
        principal=auth.principal,
        method=auth.method,
        factors=auth.factors | {"otp"},
        credential_id=auth.credential_id,
    )


def _token(ctx: ServerContext, auth: Authenticated) -> dict[str, Any]:
    return {
        "access_token": ctx.tokens.issue(auth),
        "token_type": "Bearer",
        "expires_in": ctx.settings.token_minutes * 60,
        "factors": sorted(auth.factors),
    }


@router.post("/token", openapi_extra=action_extra(SELF))
def issue_token(
    request: Request, body: TokenRequest, caller: Caller = guarded(SELF)
) -> dict[str, Any]:
    """A short-lived access token for the presented credential (add ``otp`` for step-up)."""
    ctx = _ctx(request)
    brake(request, ctx)
    auth = caller.auth
    if body.otp:
        auth = with_otp(ctx, auth, body.otp, caller.address)
    return _token(ctx, auth)


@router.post("/step-up", openapi_extra=action_extra(SELF))
def step_up(
    request: Request, body: StepUpRequest, caller: Caller = guarded(SELF)
) -> dict[str, Any]:
    """Prove a second factor; the returned token satisfies step-up demands."""
    ctx = _ctx(request)
    brake(request, ctx)
    auth = with_otp(ctx, caller.auth, body.otp, caller.address)
    ctx.vault.acting_as(caller.name).audit(
        "auth.step_up", "allow", None, {"address": caller.address}
    )
    return _token(ctx, auth)


@router.post("/totp", openapi_extra=action_extra(SELF))
def enrol_totp(request: Request, caller: Caller = guarded(SELF)) -> dict[str, str]:
    """Enrol a TOTP second factor; replacing one needs the current factor first."""
    ctx = _ctx(request)
    if caller.auth.principal.totp_enrolled and "otp" not in caller.auth.factors:
        raise HTTPException(status_code=403, detail="step up with the current code to re-enrol")
    uri = ctx.identity.enroll_totp(caller.name, replace=caller.auth.principal.totp_enrolled)
    ctx.vault.acting_as(caller.name).audit("auth.totp.enrol", "allow", None, {})
    return {"provisioning_uri": uri}


@router.get("/whoami", openapi_extra=action_extra(SELF))
def whoami(caller: Caller = guarded(SELF)) -> dict[str, Any]:
    principal = caller.auth.principal
    return {
        "name": principal.name,
        "kind": principal.kind,
        "method": caller.auth.method,
        "factors": sorted(caller.auth.factors),
        "groups": list(principal.groups),
        "bindings": [{"role": b.role, "project": b.project} for b in principal.bindings],
        "totp_enrolled": principal.totp_enrolled,
    }
