"""A regulator attests an enterprise's registration, so it counts in population averages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from ledger_api.access.deps import Caller, Role, allow, enterprise_for
from ledger_api.core.deps import SessionDep
from ledger_api.core.paths import IDENTIFIER
from ledger_api.evaluations.attestations import attest
from ledger_api.evaluations.schemas import AttestationOut

router = APIRouter(prefix="/v1/enterprises", tags=["evaluations"])

# Regulators only: the operator's admin key is exactly who must not be able to vouch.
Regulator = Annotated[Caller, Depends(allow(Role.REGULATOR))]


@router.post(
    f"/{IDENTIFIER}/registration-attestation",
    status_code=status.HTTP_201_CREATED,
    response_model=AttestationOut,
)
def post_attestation(
    identifier: str, session: SessionDep, caller: Regulator, response: Response
) -> AttestationOut:
    """Attest the enterprise's registration (an anchored event); 200 when this regulator
    attested it already."""
    enterprise = enterprise_for(session, caller, identifier)
    made = attest(session, caller, enterprise)
    if not made.created:
        response.status_code = status.HTTP_200_OK
    return AttestationOut(
        enterprise=enterprise.identifier,
        event=made.event,
        regulator=made.regulator,
        registration=made.registration,
    )
