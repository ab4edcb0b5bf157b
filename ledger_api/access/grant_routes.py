"""An enterprise's grants of read access to verifiers and financiers."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy import select
from sqlmodel import Session

from ledger_api.access.deps import GRANTEE_ROLES, Caller, Manager, Reader, Role, manages
from ledger_api.access.grants import grant_access, grant_out, revoke_access
from ledger_api.core.deps import SessionDep
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import AccessGrant, Enterprise, Principal
from ledger_api.schemas import GrantIn, GrantOut

router = APIRouter(tags=["grants"])


def _enterprise(session: Session, caller: Caller, identifier: str, *, write: bool) -> Enterprise:
    """The enterprise, if ``caller`` manages it (or, to read, is a regulator); else 404."""
    found = session.scalar(select(Enterprise).where(Enterprise.identifier == identifier))
    allowed = found is not None and (
        manages(caller, found.id or 0) or (not write and caller.role == Role.REGULATOR)
    )
    if found is None or not allowed:
        raise not_found("enterprise", identifier)
    return found


@router.post(
    "/enterprises/{identifier:path}/grants",
    status_code=status.HTTP_201_CREATED,
    response_model=GrantOut,
    response_model_by_alias=True,
    responses={200: {"description": "The grantee already holds a live grant"}},
)
def create_grant(
    identifier: str, body: GrantIn, session: SessionDep, caller: Manager, response: Response
) -> GrantOut:
    """Grant a verifier or financier read access to this enterprise (an anchored event)."""
    enterprise = _enterprise(session, caller, identifier, write=True)
    grantee = session.scalar(select(Principal).where(Principal.name == body.grantee))
    if grantee is None or grantee.role not in GRANTEE_ROLES:
        raise ApiError(
            422, "invalid_grantee", f"{body.grantee} is no verifier or financier", "grantee"
        )
    grant, created = grant_access(session, enterprise, grantee, body.purpose)
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return grant_out(session, grant)


@router.get(
    "/enterprises/{identifier:path}/grants",
    response_model=list[GrantOut],
    response_model_by_alias=True,
)
def list_grants(identifier: str, session: SessionDep, caller: Reader) -> list[GrantOut]:
    enterprise = _enterprise(session, caller, identifier, write=False)
    rows = session.scalars(
        select(AccessGrant)
        .where(AccessGrant.enterprise_id == enterprise.id)
        .order_by(AccessGrant.id)
    )
    return [grant_out(session, row) for row in rows]


@router.post(
    "/enterprises/{identifier:path}/grants/{grant_id}/revoke",
    response_model=GrantOut,
    response_model_by_alias=True,
)
def revoke_grant(identifier: str, grant_id: int, session: SessionDep, caller: Manager) -> GrantOut:
    """Withdraw a grant from now on (an anchored event); the grantee reads nothing more."""
    enterprise = _enterprise(session, caller, identifier, write=True)
    grant = session.get(AccessGrant, grant_id) if 0 < grant_id < 2**63 else None
    if grant is None or grant.enterprise_id != enterprise.id:
        raise not_found("grant", str(grant_id))
    revoke_access(session, enterprise, grant)
    session.commit()
    return grant_out(session, grant)
