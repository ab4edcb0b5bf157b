"""Identifier resolution in the Handle.net REST shape, so generic Handle tooling can read it.

``GET /api/handles/{identifier}`` answers ``{"responseCode": 1, "handle": ..., "values": [...]}``
with typed values (``URL``, ``CL_KIND``, ``CL_METADATA``, …); an unknown identifier answers
responseCode 100 with HTTP 404, a malformed one responseCode 2 with HTTP 400.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ledger_api.access.deps import CallerDep
from ledger_api.core.deps import SessionDep
from ledger_api.registry.handles import resolve_handle
from ledger_api.registry.schemas import HandleOut

router = APIRouter(prefix="/api/handles", tags=["identifiers"])


@router.get(
    "/{identifier:path}",
    response_model=HandleOut,
    responses={400: {"model": HandleOut}, 404: {"model": HandleOut}},
)
def resolve(
    identifier: str, session: SessionDep, request: Request, caller: CallerDep
) -> JSONResponse:
    """Resolve an identifier (or a terminal's address) to its metadata and ledger links; an
    identifier the caller may not read (its enterprise hidden, or, for a terminal key, any but
    a terminal's address) resolves as unknown."""
    base = str(request.base_url).rstrip("/")
    status, body = resolve_handle(session, caller, base, identifier)
    # Answered as built: Handle tooling reads these bodies, absent keys and all.
    return JSONResponse(body, status_code=status)
