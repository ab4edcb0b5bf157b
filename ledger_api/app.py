"""The ledger API application."""

from __future__ import annotations

from fastapi import FastAPI

from accounting.factors import load_factor_set
from accounting.units import converter_for
from ledger_api.db import engine_for
from ledger_api.deps import LedgerContext, find_deployment
from ledger_api.errors import install_error_handlers
from ledger_api.middleware import BodyLimit, RequestLog
from ledger_api.rate_limit import IngestLimiter
from ledger_api.registration import load_stored_templates
from ledger_api.routers import (
    activity,
    aggregates,
    assets,
    batches,
    bulk,
    evaluations,
    financier,
    grants,
    handles,
    principals,
    registry,
    templates,
)
from ledger_api.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app on a migrated database (``carbon-ledger serve`` migrates once, before it
    starts the API processes): bind to the deployment, mount the routers."""
    settings = settings or get_settings()
    url = settings.effective_database_url
    limiter = IngestLimiter(settings.ingest_rate_limit, settings.max_batch_records)
    context = LedgerContext(settings, engine_for(url), find_deployment(settings), limiter)
    load_stored_templates(context.engine)
    converter_for(load_factor_set())  # the unit registry takes a second: now, not in a batch
    app = FastAPI(
        title="carbon-ledger",
        version="0.1.0",
        description="Trusted carbon ledger: signed activity data anchored on an EVM chain.",
    )
    app.state.ledger = context
    install_error_handlers(app)
    # Added last runs first: the request id is bound before the body limit can answer.
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestLog)
    # evaluations first: its /enterprises/{id}/ratings must win over registry's /enterprises/{id}
    routers = (
        grants.router,  # before registry: /enterprises/{id}/grants
        assets.router,  # before registry: /enterprises/{id}/assets, /signer
        financier.router,  # before registry: /enterprises/{id}/profile
        principals.router,
        evaluations.router,
        bulk.router,
        templates.router,
        registry.router,
        activity.router,
        batches.router,
        aggregates.router,
    )
    for router in routers:
        app.include_router(router, prefix="/v1")
    app.include_router(handles.router)
    return app
