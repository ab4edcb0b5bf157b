"""Enterprises and their emission sources (terminals: ``device_routes``)."""

from __future__ import annotations

from fastapi import APIRouter, status

from ledger_api.access.deps import Admin, Manager, Reader, enterprise_for
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.models import Enterprise
from ledger_api.core.paths import IDENTIFIER
from ledger_api.registry import service
from ledger_api.registry.schemas import EnterpriseIn, EnterpriseOut, SourceIn, SourceOut

router = APIRouter(prefix="/v1/enterprises", tags=["registry"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EnterpriseOut)
def register_enterprise(
    body: EnterpriseIn, session: SessionDep, context: Context, _: Admin
) -> Enterprise:
    """Register an enterprise under its identifier (minted when omitted)."""
    return service.register_enterprise(session, body, context.settings.identifier_prefix)


@router.get(f"/{IDENTIFIER}/sources", response_model=list[SourceOut])
def list_sources(identifier: str, session: SessionDep, caller: Reader) -> list[SourceOut]:
    """The enterprise's registered emission sources."""
    return service.list_sources(session, enterprise_for(session, caller, identifier))


@router.post(
    f"/{IDENTIFIER}/sources", status_code=status.HTTP_201_CREATED, response_model=SourceOut
)
def register_source(
    identifier: str, body: SourceIn, session: SessionDep, context: Context, caller: Manager
) -> SourceOut:
    """Register an emission source inside an enterprise's boundary."""
    enterprise = enterprise_for(session, caller, identifier, write=True)
    return service.register_source(session, enterprise, body, context.settings.identifier_prefix)


@router.get(f"/{IDENTIFIER}", response_model=EnterpriseOut)
def get_enterprise(identifier: str, session: SessionDep, caller: Reader) -> Enterprise:
    return enterprise_for(session, caller, identifier)
