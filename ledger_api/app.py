"""The ledger API application."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from accounting.factors import load_factor_set
from accounting.units import converter_for
from ledger_api.access import api as access
from ledger_api.activity import api as activity
from ledger_api.assets import api as assets
from ledger_api.core.allowance import IngestLimiter
from ledger_api.core.config import Settings, get_settings
from ledger_api.core.db import engine_for
from ledger_api.core.deps import LedgerContext, find_deployment
from ledger_api.core.errors import install_error_handlers
from ledger_api.core.middleware import BodyLimit, JsonGuard, RequestLog
from ledger_api.evaluations import api as evaluations
from ledger_api.financier import api as financier
from ledger_api.ledger import api as ledger
from ledger_api.ledger.binding import bind_deployment
from ledger_api.monitoring import api as monitoring
from ledger_api.registry import api as registry
from ledger_api.registry.template_store import load_stored_templates
from ledger_api.web import api as web

#: One router per domain; each route's path is its own, so any order mounts the same API.
SANE_RECURSION_LIMIT = 1000
DOMAINS = (access, activity, assets, evaluations, financier, ledger, monitoring, registry)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app on a migrated database (``carbon-ledger serve`` migrates once, before it
    starts the API processes): bind to the deployment, mount the routers."""
    settings = settings or get_settings()
    # py_ecc (under eth-keys) raises the limit to 100,000 on import, which lets a recursive
    # parser run off the C stack and kill the process: back to the interpreter's default.
    sys.setrecursionlimit(SANE_RECURSION_LIMIT)
    url = settings.effective_database_url
    limiter = IngestLimiter(settings.ingest_rate_limit, settings.max_batch_records)
    context = LedgerContext(settings, engine_for(url), find_deployment(settings), limiter)
    bind_deployment(context.engine, context.deployment)  # every host on one deployment
    load_stored_templates(context.engine)
    converter_for(load_factor_set())  # the unit registry takes a second: now, not in a batch
    app = FastAPI(
        title="carbon-ledger",
        version="0.1.0",
        description="Trusted carbon ledger: signed activity data anchored on an EVM chain.",
        # Served by the web package with self-hosted scripts, never a CDN's.
        docs_url=None,
        redoc_url=None,
    )
    app.state.ledger = context
    install_error_handlers(app)
    # Added last runs first: the request id is bound before the body limit can answer, and
    # the body limit counts bytes before the guard reads them.
    app.add_middleware(JsonGuard, form_paths=web.FORM_PATHS)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestLog)
    for domain in DOMAINS:
        app.include_router(domain.router)
    web.mount(app)
    return app
