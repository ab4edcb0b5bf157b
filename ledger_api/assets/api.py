"""The assets domain's one router, which the app mounts: carbon assets, an enterprise's asset
key and balances, a programme's issuer key.

Each route module carries its own prefix, so neither the order here nor the app's decides
which route answers."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_api.assets import enterprise_routes, issuer_routes, routes
from ledger_api.core.schemas import ERROR_RESPONSES

router = APIRouter(responses=ERROR_RESPONSES)
router.include_router(routes.router)
router.include_router(enterprise_routes.router)
router.include_router(issuer_routes.router)
