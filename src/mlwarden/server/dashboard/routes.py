"""The dashboard's router: every page under ``/ui`` plus its stylesheet.

Pages are server-rendered HTML with plain forms (POST, then redirect, then GET). Each
route declares its action and runs the same guard as the API, with the session cookie
accepted here only. The page modules add their routes to one shared router when imported.
"""

from __future__ import annotations

from fastapi.staticfiles import StaticFiles

from mlwarden.server.dashboard import (  # noqa: F401 - imported for their routes
    admin_pages,
    artifact_pages,
    audit_pages,
    review_pages,
    session_pages,
)
from mlwarden.server.dashboard.pages import STATIC_DIR, router

router.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")

__all__ = ["router"]
