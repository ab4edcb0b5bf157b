"""The ledger API application."""

from __future__ import annotations

from fastapi import FastAPI

from accounting.factors import load_factor_set
from accounting.units import converter_for
from ledger_api.access import grant_routes
from ledger_api.access import routes as access_routes
from ledger_api.activity import routes as activity_routes
from ledger_api.assets import routes as asset_routes
from ledger_api.core.allowance import IngestLimiter
from ledger_api.core.config import Settings, get_settings
from ledger_api.core.db import engine_for
from ledger_api.core.deps import LedgerContext, find_deployment
from ledger_api.core.errors import install_error_handlers
from ledger_api.core.middleware import BodyLimit, RequestLog
from ledger_api.evaluations import routes as evaluation_routes
from ledger_api.financier import aggregate_routes
from ledger_api.financier import routes as financier_routes
from ledger_api.ledger import routes as batch_routes
from ledger_api.registry import bulk_routes, handle_routes, template_routes
from ledger_api.registry import routes as registry_routes
from ledger_api.registry.service import load_stored_templates


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
        grant_routes.router,  # before registry: /enterprises/{id}/grants
        asset_routes.router,  # before registry: /enterprises/{id}/assets, /signer
        financier_routes.router,  # before registry: /enterprises/{id}/profile
        access_routes.router,
        evaluation_routes.router,
        bulk_routes.router,
        template_routes.router,
        registry_routes.router,
        activity_routes.router,
        batch_routes.router,
        aggregate_routes.router,
    )
    for router in routers:
        app.include_router(router, prefix="/v1")
    app.include_router(handle_routes.router)
    return app
