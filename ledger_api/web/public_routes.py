"""The public pages, no key: ``/v/<evaluation>`` (what a scanned 碳效码 opens) shows a published
evaluation and verifies its figure proof in the visitor's browser; ``/verify`` checks any
bundle a visitor drops. The browser reads the chain through the configured public JSON-RPC
endpoint, never through the ledger, and the bundle is checked by ``static/verifier/``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import LedgerError
from ledger_api.core.models import Enterprise
from ledger_api.core.paths import IDENTIFIER
from ledger_api.evaluations.publication import public_supersession, published_evaluation
from ledger_api.web.pages import CONTENT_SECURITY_POLICY, SECURITY_HEADERS, templates

router = APIRouter(include_in_schema=False)


def _headers(rpc_url: str) -> dict[str, str]:
    """The portal's headers, letting the page's scripts reach the public chain endpoint (and
    nothing else of another origin) and run the checks in a worker of this origin."""
    parts = urlsplit(rpc_url)
    origin = f" {parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else ""
    policy = f"{CONTENT_SECURITY_POLICY}; connect-src 'self'{origin}; worker-src 'self'"
    return {**SECURITY_HEADERS, "Content-Security-Policy": policy}


def _page(
    request: Request, template: str, rpc_url: str = "", status: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {"rpc_url": rpc_url, **context},
        status_code=status,
        headers=_headers(rpc_url),
    )


def _inputs(entry: dict[str, Any]) -> str:
    """How the added value behind L, K and the grade is vouched for."""
    if not entry.get("rating"):
        return "unrated"
    named = (entry.get("inputs") or {}).get("addedValue")
    return "declared" if named else "not_attested"


def _view(entry: dict[str, Any], enterprise: Enterprise | None) -> dict[str, Any]:
    rating = entry.get("rating") or {}
    return {
        "identifier": entry["identifier"],
        "enterprise": entry["enterprise"],
        "enterprise_name": enterprise.name if enterprise else entry["enterprise"],
        "period": entry["period"],
        "total": entry["accounting"]["figures"]["reported"]["total"],
        "grade": rating.get("grade"),
        "K": (rating.get("K") or {}).get("reported"),
        "L": (rating.get("L") or {}).get("reported"),
        "grading": (entry.get("grading") or {}).get("status"),
        "inputs": _inputs(entry),
    }


@router.get(f"/v/{IDENTIFIER}", response_class=HTMLResponse)
def public_evaluation(
    identifier: str, request: Request, session: SessionDep, context: Context
) -> HTMLResponse:
    try:
        row = published_evaluation(session, identifier)
    except LedgerError:
        return _page(request, "public/not_published.html", status=404, identifier=identifier)
    entry = json.loads(row.entry)
    return _page(
        request,
        "public/evaluation.html",
        e=_view(entry, session.get(Enterprise, row.enterprise_id)),
        superseded=public_supersession(session, row),
        bundle_url=f"/v1/public/evaluations/{identifier}/proof",
        rpc_url=context.settings.public_rpc_url or "",
    )


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, context: Context) -> HTMLResponse:
    return _page(request, "public/verify.html", context.settings.public_rpc_url or "")
