"""The FastAPI application: routes, middleware and error mapping around a ServerContext."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mlwarden import __version__
from mlwarden.errors import UsageError
from mlwarden.server.context import ServerContext
from mlwarden.server.guard import PUBLIC, action_extra
from mlwarden.server.middleware import Hardening

_log = logging.getLogger("mlwarden.server")


def create_app(ctx: ServerContext, *, close_on_shutdown: bool = True) -> FastAPI:
    """The server's ASGI app over an opened context (closed on shutdown when asked)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from mlwarden.server.live_monitor import LiveMonitor

        monitor = LiveMonitor(ctx, float(ctx.settings.monitor_interval_s))
        monitor.start()
        yield
        monitor.stop()
        if close_on_shutdown:
            ctx.close()
        else:
            ctx.ledger_writer.flush()

    app = FastAPI(
        title="mlwarden",
        version=__version__,
        summary="Zero-trust registry, serving guard and audit ledger for ML pipelines.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    _routes(app)
    _errors(app)
    if ctx.settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(ctx.settings.cors_origins),
            allow_credentials=False,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
            max_age=600,
        )
    app.add_middleware(
        Hardening,
        hsts=ctx.settings.hsts,
        default=ctx.settings.max_json_bytes,
        uploads=ctx.settings.max_upload_bytes,
    )
    return app


def _routes(app: FastAPI) -> None:
    from mlwarden.server.routes import (
        admin,
        artifacts,
        auth_routes,
        ledger_routes,
        predict,
        promotions,
    )

    # Routes are matched in order, one included router at a time: predictions, the hot
    # path, come first.
    for module in (predict, auth_routes, artifacts, promotions, ledger_routes, admin):
        app.include_router(module.router)

    @app.get("/healthz", openapi_extra=action_extra(PUBLIC), tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness for load balancers; says nothing about the data."""
        return {"status": "ok"}

    try:
        from mlwarden.server.dashboard.routes import router as dashboard
    except ImportError:  # the dashboard is optional while it is being built
        return
    app.include_router(dashboard)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(UsageError)
    async def usage_error(request: Request, exc: UsageError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()[:20]
        ]
        return JSONResponse(status_code=422, content={"detail": problems})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error (logged)"})
