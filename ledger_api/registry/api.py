"""The registry domain's one router, which the app mounts: enterprises, sources, terminals,
templates, bulk files and identifier resolution.

Each route module carries its own prefix, so neither the order here nor the app's decides
which route answers."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_api.core.schemas import ERROR_RESPONSES
from ledger_api.registry import (
    bulk_routes,
    device_routes,
    handle_routes,
    operation_routes,
    routes,
    template_routes,
)

router = APIRouter(responses=ERROR_RESPONSES)
router.include_router(routes.router)
router.include_router(device_routes.router)
router.include_router(template_routes.router)
router.include_router(bulk_routes.router)
router.include_router(handle_routes.router)
router.include_router(operation_routes.router)
