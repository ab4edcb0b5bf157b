"""The monitoring domain's one router, which the app mounts."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_api.core.schemas import ERROR_RESPONSES
from ledger_api.monitoring import alert_routes, rule_routes, webhook_routes

router = APIRouter(responses=ERROR_RESPONSES)
router.include_router(alert_routes.router)
router.include_router(rule_routes.router)
router.include_router(webhook_routes.router)
