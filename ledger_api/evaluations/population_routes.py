"""The population proof of a peer-graded evaluation: for regulators, who may see every member."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ledger_api.access.deps import Overseer
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.paths import IDENTIFIER
from ledger_api.evaluations.population_proof import population_proof
from verifier.formats.population import PopulationProofBundle

router = APIRouter(prefix="/v1/evaluations", tags=["evaluations"])


@router.get(f"/{IDENTIFIER}/population-proof", response_model=PopulationProofBundle)
def get_population_proof(
    identifier: str, session: SessionDep, context: Context, _: Overseer
) -> JSONResponse:
    """Every peer entry the evaluation's population average was formed from, anchored, with
    each peer's regulator attestation. Tenants never get it: it holds other firms' figures."""
    bundle = population_proof(session, context.engine, context.domain, identifier)
    return JSONResponse(bundle.to_json())
