"""The evaluations domain's one router, which the app mounts: evaluations and an enterprise's
evaluation history.

Each route module carries its own prefix, so neither the order here nor the app's decides
which route answers."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_api.core.schemas import ERROR_RESPONSES
from ledger_api.evaluations import (
    attestation_routes,
    declaration_routes,
    enterprise_routes,
    green_certificate_routes,
    population_routes,
    publication_routes,
    routes,
)

router = APIRouter(responses=ERROR_RESPONSES)
router.include_router(routes.router)
router.include_router(enterprise_routes.router)
router.include_router(declaration_routes.router)
router.include_router(declaration_routes.countersigners)
router.include_router(green_certificate_routes.router)
router.include_router(attestation_routes.router)
router.include_router(population_routes.router)
router.include_router(publication_routes.router)
