"""The financier domain's one router, which the app mounts: the financier's view and the
regulator's aggregates.

Each route module carries its own prefix, so neither the order here nor the app's decides
which route answers."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_api.core.schemas import ERROR_RESPONSES
from ledger_api.financier import aggregate_routes, routes

router = APIRouter(responses=ERROR_RESPONSES)
router.include_router(routes.router)
router.include_router(aggregate_routes.router)
