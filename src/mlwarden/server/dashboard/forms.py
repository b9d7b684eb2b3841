"""Reading posted forms: origin and CSRF checks, bounded parsing, then the ledger's "allow".

Dashboard POST routes run the guard with ``record_allow=False`` and call
:func:`checked_form`, so an access decision is recorded as allowed only once the request
has also passed the cross-site checks; a forged post is recorded as a denial instead.
"""

from __future__ import annotations

from typing import NoReturn

from fastapi import HTTPException, Request
from starlette.datastructures import FormData, UploadFile

from mlwarden.server.context import ServerContext
from mlwarden.server.dashboard.protection import (
    CSRF_FIELD,
    carries_api_credential,
    csrf_matches,
    same_origin,
)
from mlwarden.server.guard import Caller, record

MAX_FIELDS = 16


def context_of(request: Request) -> ServerContext:
    """The server context behind the request's app."""
    ctx: ServerContext = request.app.state.ctx
    return ctx


async def checked_form(
    request: Request, caller: Caller, action: str, *, max_files: int = 0
) -> FormData:
    """The posted form, once it proved it comes from this dashboard (403 otherwise).

    The ``Origin`` (or ``Referer``) must name this host; requests authenticated by the
    session cookie must also echo the session's CSRF token.
    """
    ctx = context_of(request)
    if not same_origin(request, required=not carries_api_credential(request)):
        _refuse(ctx, caller, action, "cross-site request")
    try:
        form = await request.form(max_files=max_files, max_fields=MAX_FIELDS)
    except Exception:  # the multipart parser raises several types for malformed bodies
        raise HTTPException(status_code=400, detail="the form could not be read") from None
    if caller.auth.method == "session" and not csrf_matches(caller, form.get(CSRF_FIELD)):
        await form.close()
        _refuse(ctx, caller, action, "csrf token missing or wrong")
    record(ctx, caller.name, action, "allow", caller.resource, caller.details)
    return form


def _refuse(ctx: ServerContext, caller: Caller, action: str, reason: str) -> NoReturn:
    record(
        ctx, caller.name, action, "deny", caller.resource, {**caller.details, "reasons": [reason]}
    )
    raise HTTPException(status_code=403, detail=f"refused: {reason}")


def text(form: FormData, name: str, *, limit: int, required: bool = False) -> str:
    """A text field, stripped; 422 when it is required and empty or longer than ``limit``."""
    value = form.get(name)
    if value is None or isinstance(value, UploadFile):
        value = ""
    value = value.strip()
    if required and not value:
        raise HTTPException(status_code=422, detail=f"{name}: required")
    if len(value) > limit:
        raise HTTPException(status_code=422, detail=f"{name}: longer than {limit} characters")
    return value
