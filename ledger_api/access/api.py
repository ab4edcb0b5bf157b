"""The access domain's one router, which the app mounts: principals, keys and grants.

Each route module carries its own prefix, so neither the order here nor the app's decides
which route answers."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_api.access import grant_routes, routes
from ledger_api.core.schemas import ERROR_RESPONSES

router = APIRouter(responses=ERROR_RESPONSES)
router.include_router(routes.router)
router.include_router(grant_routes.router)
