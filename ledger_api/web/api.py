"""The web package's routers and its static files, for ``app.py`` to mount."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from ledger_api.web import docs_routes, public_routes, routes
from ledger_api.web.routes import FORM_PATHS

STATIC = Path(__file__).parent / "static"

router = APIRouter()
router.include_router(docs_routes.router)
router.include_router(routes.router)
router.include_router(public_routes.router)

__all__ = ["FORM_PATHS", "mount", "router"]


def mount(app: FastAPI) -> None:
    """The pages and ``/static`` (the portal's styles and scripts, and the copied npm builds)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(router)
