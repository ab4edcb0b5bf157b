"""A carbon-asset programme's issuer key: the only key whose issues of the programme's units
the ledger accepts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from ledger_api.access.deps import Overseer
from ledger_api.assets.issuers import set_issuer
from ledger_api.assets.schemas import IssuerOut, SignerIn
from ledger_api.core.deps import SessionDep
from verifier.protocol.asset_ops import PROGRAM_PATTERN

router = APIRouter(prefix="/v1/programs", tags=["assets"])

Program = Annotated[str, Path(pattern=f"^{PROGRAM_PATTERN}$", description="e.g. CEA, CCER")]


@router.put(
    "/{program}/issuer",
    response_model=IssuerOut,
    responses={201: {"description": "A new key was named"}},
)
def put_issuer(
    program: Program, body: SignerIn, session: SessionDep, _: Overseer, response: Response
) -> IssuerOut:
    """Name the key that signs the programme's issues (an admin or regulator; an anchored
    event); issues signed by an earlier key are refused from now on."""
    out, changed = set_issuer(session, program, body.address)
    if changed:
        response.status_code = status.HTTP_201_CREATED
    return out
