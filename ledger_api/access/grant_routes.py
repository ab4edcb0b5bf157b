"""An enterprise's grants of read access to verifiers and financiers."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from ledger_api.access import grants
from ledger_api.access.deps import Manager, Reader
from ledger_api.access.schemas import GrantIn, GrantOut
from ledger_api.core.deps import SessionDep
from ledger_api.core.paths import IDENTIFIER
from ledger_api.core.schemas import RowId

router = APIRouter(prefix=f"/v1/enterprises/{IDENTIFIER}/grants", tags=["grants"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=GrantOut,
    responses={200: {"description": "The grantee already holds a live grant"}},
)
def create_grant(
    identifier: str, body: GrantIn, session: SessionDep, caller: Manager, response: Response
) -> GrantOut:
    """Grant a verifier or financier read access to this enterprise (an anchored event)."""
    enterprise = grants.granting_enterprise(session, caller, identifier, write=True)
    grant, created = grants.create_grant(session, enterprise, body.grantee, body.purpose)
    if not created:
        response.status_code = status.HTTP_200_OK
    return grant


@router.get("", response_model=list[GrantOut])
def list_grants(identifier: str, session: SessionDep, caller: Reader) -> list[GrantOut]:
    enterprise = grants.granting_enterprise(session, caller, identifier, write=False)
    return grants.list_grants(session, enterprise)


@router.post("/{grant_id}/revoke", response_model=GrantOut)
def revoke_grant(
    identifier: str, grant_id: RowId, session: SessionDep, caller: Manager
) -> GrantOut:
    """Withdraw a grant from now on (an anchored event); the grantee reads nothing more."""
    enterprise = grants.granting_enterprise(session, caller, identifier, write=True)
    return grants.withdraw_grant(session, enterprise, grant_id)
