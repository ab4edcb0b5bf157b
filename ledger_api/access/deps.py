"""Who may call what: roles, the caller of a request, and whose data the caller may see.

Two questions, answered apart. *May this role use this endpoint at all?* — the route declares
its roles, and any other role gets 403. *May this caller see this enterprise?* — admins and
regulators see all, enterprise and terminal principals their own enterprise, verifiers and
financiers the enterprises that granted them access. An enterprise the caller may not see is
answered exactly as one that does not exist (404), so its existence does not leak either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlmodel import Session

from ledger_api.access.keys import authenticate
from ledger_api.core.deps import Context
from ledger_api.core.errors import ApiError, Problem, not_found
from ledger_api.core.models import AccessGrant, Enterprise


class Role(StrEnum):
    ADMIN = "admin"
    ENTERPRISE = "enterprise"
    TERMINAL = "terminal"
    VERIFIER = "verifier"
    FINANCIER = "financier"
    REGULATOR = "regulator"


#: Roles whose principals belong to one enterprise.
TENANT_ROLES = frozenset({Role.ENTERPRISE, Role.TERMINAL})
#: Roles that see an enterprise only while it grants them access.
GRANTEE_ROLES = frozenset({Role.VERIFIER, Role.FINANCIER})
#: Roles that read an enterprise's registry, evaluations and assets (terminals only submit).
READER_ROLES = frozenset(
    {Role.ADMIN, Role.REGULATOR, Role.ENTERPRISE, Role.VERIFIER, Role.FINANCIER}
)


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of one request."""

    principal_id: int
    name: str
    role: Role
    enterprise_id: int | None
    enterprise: str | None  # the identifier of enterprise_id
    device: str | None


_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cl_…`")


def current_caller(
    request: Request,
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller, from the bearer key; 401 for a missing, unknown or revoked key."""
    # A session of its own: the route's session starts with no transaction open.
    with Session(context.engine) as session:
        principal = authenticate(session, credentials.credentials) if credentials else None
        if principal is None or principal.id is None:
            raise ApiError(
                401,
                "unauthenticated",
                "a live API key is required",
                "Authorization",
                headers=_CHALLENGE,
            )
        enterprise = (
            session.get(Enterprise, principal.enterprise_id) if principal.enterprise_id else None
        )
        caller = Caller(
            principal.id,
            principal.name,
            Role(principal.role),
            principal.enterprise_id,
            enterprise.identifier if enterprise else None,
            principal.device,
        )
    request.state.principal = caller.name  # for the request log
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


def allow(*roles: Role) -> Callable[[Caller], Caller]:
    """A dependency that lets only ``roles`` through (403 for any other)."""
    allowed = frozenset(roles)

    def check(caller: CallerDep) -> Caller:
        if caller.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise ApiError(403, "forbidden", f"the {caller.role} role may not do this ({names})")
        return caller

    return check


#: Manage an enterprise's registry, evaluations and assets.
Manager = Annotated[Caller, Depends(allow(Role.ADMIN, Role.ENTERPRISE))]
#: Read an enterprise's data (each route then checks :func:`sees`).
Reader = Annotated[Caller, Depends(allow(*READER_ROLES))]
#: Submit signed activity records.
Submitter = Annotated[Caller, Depends(allow(Role.ADMIN, Role.ENTERPRISE, Role.TERMINAL))]
#: Administer the ledger itself.
Admin = Annotated[Caller, Depends(allow(Role.ADMIN))]
#: Read anchored batches (each caller sees the manifest sections of the enterprises it sees).
Auditor = Annotated[Caller, Depends(allow(Role.ADMIN, Role.REGULATOR, Role.VERIFIER))]
#: Read the financier's portfolio view.
Lender = Annotated[Caller, Depends(allow(Role.ADMIN, Role.REGULATOR, Role.FINANCIER))]
#: Read across all enterprises (aggregates).
Overseer = Annotated[Caller, Depends(allow(Role.ADMIN, Role.REGULATOR))]


def has_grant(session: Session, enterprise_id: int, grantee_id: int) -> bool:
    return (
        session.scalar(
            select(AccessGrant.id).where(
                AccessGrant.enterprise_id == enterprise_id,
                AccessGrant.grantee_id == grantee_id,
                AccessGrant.revoked_at.is_(None),  # type: ignore[union-attr]
            )
        )
        is not None
    )


def sees(session: Session, caller: Caller, enterprise_id: int) -> bool:
    """May ``caller`` see the data of the enterprise with row id ``enterprise_id``?"""
    if caller.role in (Role.ADMIN, Role.REGULATOR):
        return True
    if caller.role in TENANT_ROLES:
        return caller.enterprise_id == enterprise_id
    return has_grant(session, enterprise_id, caller.principal_id)


def visible_enterprises(session: Session, caller: Caller) -> frozenset[str] | None:
    """The identifiers of the enterprises ``caller`` sees, by the rules of :func:`sees`;
    None for the roles that see every enterprise."""
    if caller.role in (Role.ADMIN, Role.REGULATOR):
        return None
    if caller.role in TENANT_ROLES:
        return frozenset({caller.enterprise} if caller.enterprise else ())
    granted = select(Enterprise.identifier).join(
        AccessGrant, AccessGrant.enterprise_id == Enterprise.id
    )
    granted = granted.where(
        AccessGrant.grantee_id == caller.principal_id,
        AccessGrant.revoked_at.is_(None),  # type: ignore[union-attr]
    )
    return frozenset(session.scalars(granted))


def enterprise_for(
    session: Session, caller: Caller, identifier: str, *, write: bool = False
) -> Enterprise:
    """The enterprise if ``caller`` may see it (or, to ``write``, manage it); else 404, the
    same answer as for an enterprise that does not exist."""
    found = session.scalar(select(Enterprise).where(Enterprise.identifier == identifier))
    if found is None or found.id is None:
        raise not_found("enterprise", identifier)
    if not (manages(caller, found.id) if write else sees(session, caller, found.id)):
        raise not_found("enterprise", identifier)
    return found


def manages(caller: Caller, enterprise_id: int) -> bool:
    """May ``caller`` change the enterprise's data? (Admins, and the enterprise itself.)"""
    return caller.role == Role.ADMIN or (
        caller.role == Role.ENTERPRISE and caller.enterprise_id == enterprise_id
    )


def check_submitter(caller: Caller, messages: Sequence[Mapping[str, Any]]) -> None:
    """Terminal and enterprise keys submit their own enterprise's records (a terminal key held
    to one device, that device's only); 403 naming every record that is not theirs."""
    if caller.role == Role.ADMIN:
        return
    problems = []
    for index, message in enumerate(messages):
        if message.get("enterprise") != caller.enterprise:
            field, what = "enterprise", f"another enterprise than {caller.enterprise}"
        elif caller.device and str(message.get("device", "")).lower() != caller.device.lower():
            field, what = "device", f"another terminal than {caller.device}"
        else:
            continue
        problems.append(
            Problem(
                code="forbidden_record",
                message=f"a record of {what}",
                field=f"records[{index}].record.{field}",
                index=index,
            )
        )
    if problems:
        raise ApiError(
            403,
            "forbidden",
            f"{len(problems)} record(s) are not {caller.name}'s to submit",
            problems=problems,
        )
