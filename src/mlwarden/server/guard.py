"""The guard every route passes: authenticate, assess risk, authorize, record.

Routes declare the action they perform with :func:`guarded` (and so appear in the
authorization matrix test, generated from the route table). The order matters:

1. authenticate the credential (API key, access token, OIDC token, client certificate or,
   on dashboard pages only, the session cookie) — failure is 401;
2. score the request's risk from the principal's baseline — above the step-up threshold a
   second factor is required (401 ``step_up_required``), above the deny threshold it is 403
   and an alert;
3. ask the policy engine about (principal, action, resource, context) — deny by default;
4. hand the decision, with its reasons, to the ledger writer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from mlwarden.findings import Severity
from mlwarden.gateway.rate_limit import Limit
from mlwarden.identity.model import MISSING_CREDENTIALS, Authenticated, AuthenticationError
from mlwarden.policy.authorizer import AccessRequest
from mlwarden.policy.risk import RequestSignals, RiskAssessment

if TYPE_CHECKING:
    from mlwarden.server.context import ServerContext
    from mlwarden.store.catalog.records import ArtifactRecord

ACTION_KEY = "x-mlwarden-action"
"""OpenAPI extension naming the action a route performs (read by the matrix test)."""
PUBLIC = "public"
SELF = "self"
"""Any authenticated principal, about itself (its token, keys, second factor)."""

SESSION_COOKIE = "mlw_session"


@dataclass(frozen=True)
class Resource:
    """What a request acts on, as the policy sees it."""

    type: str
    id: str
    project: str | None = None
    attributes: dict[str, str | int | bool] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    artifact: ArtifactRecord | None = None


@dataclass(frozen=True)
class Caller:
    """The authenticated, authorized caller of one request."""

    auth: Authenticated
    risk: RiskAssessment | None
    resource: Resource
    address: str
    details: dict[str, Any] = field(default_factory=dict)
    """What the ledger entry of this decision says (reasons, risk, method)."""
    csrf: str = ""
    """This session's CSRF token, on dashboard routes (forms echo it)."""

    @property
    def name(self) -> str:
        return self.auth.principal.name


Resolver = Callable[[Request, "ServerContext"], Awaitable[Resource] | Resource]


def action_extra(action: str) -> dict[str, Any]:
    """``openapi_extra`` for a route performing ``action``."""
    return {ACTION_KEY: action}


def client_address(request: Request) -> str:
    client = request.scope.get("client")  # what request.client reads, without the copy
    return client[0] if client is not None else "unknown"


_READ_HEADERS = frozenset(
    {
        b"authorization",
        b"x-api-key",
        b"user-agent",
        b"x-device-id",
        b"x-device-attestation",
        b"content-length",
    }
)


def _read_headers(request: Request) -> dict[bytes, str]:
    """The headers the guard reads, in one pass; the first of repeated headers wins, as
    with ``request.headers.get``."""
    found: dict[bytes, str] = {}
    for name, value in request.scope["headers"]:
        if name in _READ_HEADERS and name not in found:
            found[name] = value.decode("latin-1")
    return found


def _client_cert(request: Request) -> bytes | None:
    cert = request.scope.get("state", {}).get("mlwarden_client_cert")
    return cert if isinstance(cert, bytes) else None


def authenticate(request: Request, ctx: ServerContext, *, cookie: bool) -> Authenticated:
    """The request's principal, or 401. Cookies count only on dashboard pages, so a
    cross-site form cannot ride a browser session into the JSON API.

    An address that keeps failing is answered 429 without checking its credentials for a
    while: each wrong API key costs an argon2 verification, which must not be free to ask.
    """
    return _authenticate(request, ctx, client_address(request), _read_headers(request), cookie)


def _authenticate(
    request: Request,
    ctx: ServerContext,
    address: str,
    headers: dict[bytes, str],
    cookie: bool,
) -> Authenticated:
    blocked = ctx.failing_addresses.get(address)
    if blocked is not None:
        ctx.ledger_writer.fold(f"address:{address}", "auth.authenticate", "too_many_failures")
        raise HTTPException(
            status_code=429,
            detail="too many failed authentications",
            headers={"Retry-After": str(blocked)},
        )
    session = request.cookies.get(SESSION_COOKIE) if cookie else None
    bearer = headers.get(b"authorization")
    try:
        return ctx.authenticator.authenticate(
            authorization=bearer[:8192] if bearer else None,
            api_key_header=headers.get(b"x-api-key"),
            client_cert_der=_client_cert(request),
            session_token=session,
        )
    except AuthenticationError as exc:
        ctx.ledger_writer.fold(f"address:{address}", "auth.authenticate", str(exc.reason))
        if exc.reason != MISSING_CREDENTIALS:  # only presented credentials cost anything
            _count_failure(ctx, address)
        raise HTTPException(
            status_code=401,
            detail="authentication required",
            headers={"WWW-Authenticate": 'Bearer realm="mlwarden"'},
        ) from None


def _count_failure(ctx: ServerContext, address: str) -> None:
    setting = ctx.settings.auth_per_address
    verdict = ctx.auth_limiter.acquire(f"fail:{address}", Limit(setting.rate, setting.burst))
    if not verdict.allowed:
        wait = max(1, math.ceil(verdict.retry_after))
        ctx.failing_addresses.put(address, wait, ttl_s=wait)


def request_signals(request: Request, auth: Authenticated, now: datetime) -> RequestSignals:
    return _signals(auth, now, client_address(request), _read_headers(request))


def _signals(
    auth: Authenticated, now: datetime, address: str, headers: dict[bytes, str]
) -> RequestSignals:
    length = headers.get(b"content-length", "0")
    return RequestSignals(
        principal=auth.principal.name,
        ip=address,
        user_agent=headers.get(b"user-agent", "")[:512],
        device_id=(headers.get(b"x-device-id") or None),
        attestation=(headers.get(b"x-device-attestation") or None),
        when=now,
        bytes_in=int(length) if length.isdigit() else 0,
    )


def record(
    ctx: ServerContext,
    caller_name: str,
    action: str,
    decision: str,
    resource: Resource,
    details: dict[str, Any],
) -> None:
    from mlwarden.server.ledger_writer import decision_entry

    artifact = resource.artifact.reference if resource.artifact is not None else None
    ctx.ledger_writer.submit(decision_entry(caller_name, action, decision, artifact, details))


def _alert(ctx: ServerContext, auth: Authenticated, risk: RiskAssessment, action: str) -> None:
    from mlwarden.monitor.alerts.alert import Alert

    ctx.alert(
        Alert(
            severity=Severity.HIGH,
            rule="MLW-ACC-001",
            dedup_key=f"risk-deny:{auth.principal.name}",
            message=f"{auth.principal.name} was denied {action}: risk {risk.score}",
            details={"signals": [s.name for s in risk.fired], "action": action},
        )
    )


FAILED_LOGIN_WINDOW_S = 900


def _failed_logins(ctx: ServerContext, name: str) -> int:
    """Failed logins of ``name`` in the last 15 minutes (read at most every 2 seconds)."""

    found = ctx.failure_counts.get(name)
    if found is not None:
        return found
    since = datetime.fromtimestamp(time.time() - FAILED_LOGIN_WINDOW_S, UTC)
    count = ctx.identity.failed_logins(name, since)
    ctx.failure_counts.put(name, count)
    return count


async def check_access(
    request: Request,
    action: str,
    resolver: Resolver | None,
    *,
    cookie: bool,
    record_allow: bool = True,
) -> Caller:
    """Run the whole guard for ``action``; raise the HTTP error a failed step maps to."""
    ctx: ServerContext = request.app.state.ctx
    address = client_address(request)
    headers = _read_headers(request)
    auth = _authenticate(request, ctx, address, headers, cookie)
    csrf = _csrf(ctx, auth) if cookie else ""
    now = ctx.clock()
    if action == SELF:
        resource = Resource("principal", auth.principal.name)
    else:
        resolved = resolver(request, ctx) if resolver else Resource("global", "mlwarden")
        resource = await resolved if not isinstance(resolved, Resource) else resolved
    signals = _signals(auth, now, address, headers)
    risk = ctx.risk.assess(signals, _failed_logins(ctx, auth.principal.name))
    details: dict[str, Any] = {
        "method": auth.method,
        "address": address,
        "risk": risk.score,
        "signals": [f"{s.name}:{s.points}" for s in risk.fired] if risk.fired else [],
    }
    if risk.verdict == "deny":
        record(ctx, auth.principal.name, action, "deny", resource, {**details, "reasons": ["risk"]})
        _alert(ctx, auth, risk, action)
        raise HTTPException(status_code=403, detail="denied: the request's risk is too high")
    if action == SELF:
        # A principal's own session routes are how it steps up, so only "deny" stops them.
        return Caller(auth, risk, resource, address, details, csrf)
    if risk.verdict == "step_up" and "otp" not in auth.factors:
        record(ctx, auth.principal.name, action, "step_up", resource, details)
        raise HTTPException(
            status_code=401,
            detail="step_up_required",
            headers={"WWW-Authenticate": 'Bearer realm="mlwarden", error="step_up_required"'},
        )
    hour = now.hour

    def access() -> AccessRequest:
        return AccessRequest(
            principal=auth.principal,
            action=action,
            resource_type=resource.type,
            resource_id=resource.id,
            project=resource.project,
            attributes=resource.attributes,
            labels=resource.labels,
            context={"hour": hour, "factors": sorted(auth.factors), "risk": risk.score},
        )

    # The context holds nothing but (hour, factors, risk): the key of the cache's front.
    decision = ctx.authorizer.decide_for(
        auth.principal, action, resource, (hour, auth.factors, risk.score), access
    )
    details["reasons"] = list(decision.reasons)
    if not decision.allowed:
        record(ctx, auth.principal.name, action, "deny", resource, details)
        raise HTTPException(status_code=403, detail="forbidden by policy")
    ctx.risk.observe(signals)
    if record_allow and (
        ctx.settings.audit_reads or request.scope["method"] not in ("GET", "HEAD")
    ):
        record(ctx, auth.principal.name, action, "allow", resource, details)
    return Caller(auth, risk, resource, address, details, csrf)


def _csrf(ctx: ServerContext, auth: Authenticated) -> str:
    from mlwarden.server.dashboard.protection import csrf_token

    return csrf_token(auth, ctx.csrf_key)


def guarded(
    action: str,
    resolver: Resolver | None = None,
    *,
    cookie: bool = False,
    record_allow: bool = True,
) -> Any:
    """A FastAPI dependency running the guard for ``action`` and returning the Caller.

    ``record_allow=False`` leaves the ledger entry of an allowed request to the route, which
    adds what it did (predictions record one entry with their traffic summary)."""

    async def dependency(request: Request) -> Caller:
        return await check_access(
            request, action, resolver, cookie=cookie, record_allow=record_allow
        )

    return Depends(dependency)


DirectHandler = Callable[[Request], Awaitable[Response]]
_DIRECT_ATTR = "__mlwarden_direct__"


def direct(handler: DirectHandler) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve a route by ``handler`` (request in, response out) instead of its endpoint.

    For the hot path (predictions): FastAPI's per-request dependency resolution costs more
    than the guard's own checks. The decorated endpoint still declares the route for
    FastAPI, so the OpenAPI document and the route table (the authorization matrix) stay
    what they were; ``handler`` must run :func:`check_access` for the route's action before
    anything else, as the endpoint's dependency did. Only :class:`DirectRoute` routes honour
    it (give the router ``route_class=DirectRoute``)."""

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        setattr(endpoint, _DIRECT_ATTR, handler)
        return endpoint

    return mark


class DirectRoute(APIRoute):
    """An APIRoute that calls the handler given by :func:`direct`, when its endpoint has
    one, without resolving dependencies; other routes behave as usual."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler: DirectHandler | None = getattr(self.endpoint, _DIRECT_ATTR, None)
        return handler if handler is not None else super().get_route_handler()
