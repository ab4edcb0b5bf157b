"""The web package's routers and its static files, for ``app.py`` to mount."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from ledger_api.web import alert_routes, docs_routes, evaluation_routes, public_routes, routes
from ledger_api.web.routes import FORM_PATHS as PAGE_FORMS

STATIC = Path(__file__).parent / "static"

router = APIRouter()
router.include_router(docs_routes.router)
router.include_router(routes.router)
router.include_router(evaluation_routes.router)
router.include_router(public_routes.router)
router.include_router(alert_routes.router)

FORM_PATHS = PAGE_FORMS | evaluation_routes.FORM_PATHS

__all__ = ["FORM_PATHS", "mount", "router"]


def mount(app: FastAPI) -> None:
    """The pages and ``/static`` (the portal's styles and scripts, and the copied npm builds)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(router)
