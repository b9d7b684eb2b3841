"""Rendering pages: the Jinja2 environment, the layout's context, and error pages.

Every dashboard route uses :class:`PageRoute`, which turns the guard's HTTP errors into
pages a browser can use: 401 sends the visitor to the login form, everything else renders
an error page with the same status (403 is the "not allowed" page).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.exceptions import HTTPException as StarletteHTTPException

from mlwarden.server.dashboard.protection import CSRF_FIELD
from mlwarden.server.guard import SESSION_COOKIE, Caller

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
LOGIN_PATH = "/ui/login"

_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible right now",
    413: "Too large",
    422: "Not accepted",
    429: "Too many attempts",
}
_EXPLAIN = {
    403: "Your roles do not allow this here, or the request did not come from this dashboard.",
    404: "There is nothing here, or you may not know that there is.",
}

NOTICES: Mapping[str, str] = {
    "uploaded": "Uploaded and scanned.",
    "requested": "Promotion requested; an approver will review it.",
    "approved": "Your approval was recorded.",
    "rejected": "Your rejection was recorded.",
    "created": "Principal created.",
    "granted": "Role granted.",
    "revoked": "Key revoked.",
}
"""Messages a redirect may ask the next page to show (by key, so no text is injected)."""


def _when(value: object) -> str:
    """A timestamp (datetime or ISO-8601 text, as ledger bodies hold) in UTC, to the second."""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if value is None else str(value)


def _size(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"  # pragma: no cover - the loop always returns


_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,  # every value, in every template, whatever its file name
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["when"] = _when
_env.filters["size"] = _size
_env.filters["path"] = lambda value: quote(str(value), safe=":")
_env.globals["csrf_field"] = CSRF_FIELD


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page, as the layout needs it (navigation, CSRF token)."""

    name: str
    kind: str
    csrf: str
    factors: tuple[str, ...]
    can_audit: bool
    can_admin: bool


def viewer(caller: Caller) -> Viewer:
    """The layout's view of ``caller``."""
    principal = caller.auth.principal
    is_admin = principal.has_global("admin")
    return Viewer(
        name=principal.name,
        kind=principal.kind,
        csrf=caller.csrf,
        factors=tuple(sorted(caller.auth.factors)),
        can_audit=is_admin or principal.has_global("auditor"),
        can_admin=is_admin,
    )


def notice(request: Request) -> str | None:
    """The fixed message a redirect asked for with ``?notice=KEY`` (unknown keys: none)."""
    return NOTICES.get(request.query_params.get("notice", ""))


def render(
    template: str,
    caller: Caller | None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """``template`` rendered with the layout's context (``me`` is None when signed out)."""
    me = viewer(caller) if caller is not None else None
    values.setdefault("notice", None)
    values.setdefault("error", None)
    html = _env.get_template(template).render(me=me, **values)
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))


def to_login(request: Request, reason: str) -> RedirectResponse:
    """Back to the login form; a cookie that no longer works is dropped."""
    response = RedirectResponse(f"{LOGIN_PATH}?reason={reason}", status_code=303)
    if SESSION_COOKIE in request.cookies:
        clear_session_cookie(response)
    return response


def clear_session_cookie(response: Response) -> None:
    """Tell the browser to drop the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")


def error_page(
    request: Request, status: int, detail: object, headers: Mapping[str, str] | None = None
) -> Response:
    """The page for an HTTP error raised by the guard or a route."""
    if status == 401:
        return to_login(request, "step_up" if detail == "step_up_required" else "signin")
    kept = {k: v for k, v in (headers or {}).items() if k.lower() == "retry-after"}
    return render(
        "error.html",
        None,
        status_code=status,
        headers=kept,
        status=status,
        title=_TITLES.get(status, "Something went wrong"),
        explain=_EXPLAIN.get(status, ""),
        detail=detail if isinstance(detail, str) else "",
    )


class PageRoute(APIRoute):
    """A dashboard route: errors become pages (or a redirect to login), never JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except StarletteHTTPException as exc:
                return error_page(request, exc.status_code, exc.detail, exc.headers)
            except RequestValidationError:
                return error_page(request, 422, "the request had missing or malformed fields")

        return page


router = APIRouter(route_class=PageRoute, include_in_schema=False)
"""The one router every dashboard module adds its pages to (see ``routes``)."""
