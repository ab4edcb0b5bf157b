"""The assets domain's one router, which the app mounts: carbon assets and an enterprise's asset
key and balances.

Each route module carries its own prefix, so neither the order here nor the app's decides
which route answers."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_api.assets import enterprise_routes, routes
from ledger_api.core.schemas import ERROR_RESPONSES

router = APIRouter(responses=ERROR_RESPONSES)
router.include_router(routes.router)
router.include_router(enterprise_routes.router)
