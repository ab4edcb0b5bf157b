"""Registry operations an enterprise signs: its chain head, the typed data, and submission."""

from __future__ import annotations

from fastapi import APIRouter, status

from ledger_api.access.deps import Manager, Reader, enterprise_for
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.paths import IDENTIFIER
from ledger_api.registry import signed
from ledger_api.registry.schemas import (
    ChainEventOut,
    RegistryHeadOut,
    RegistryOperationsIn,
    RegistryTypedDataOut,
)
from verifier.protocol.registry_ops import REGISTRY_OPERATION_FIELDS, REGISTRY_OPERATION_TYPE
from verifier.protocol.typed_data import DOMAIN_FIELDS

router = APIRouter(prefix="/v1", tags=["registry"])


@router.get("/registry-operations/typed-data", response_model=RegistryTypedDataOut)
def registry_typed_data() -> RegistryTypedDataOut:
    """The EIP-712 types an enterprise's key signs registry operations with (same domain as
    activity records: GET /v1/typed-data)."""
    return RegistryTypedDataOut(
        types={"EIP712Domain": DOMAIN_FIELDS, REGISTRY_OPERATION_TYPE: REGISTRY_OPERATION_FIELDS},
        primaryType=REGISTRY_OPERATION_TYPE,
    )


@router.post(
    "/registry-operations",
    status_code=status.HTTP_201_CREATED,
    response_model=list[ChainEventOut],
)
def submit_operations(
    body: RegistryOperationsIn, session: SessionDep, context: Context, caller: Manager
) -> list[ChainEventOut]:
    """Store an enterprise's signed registry operations in chain order, all or nothing."""
    return signed.submit_operations(
        session, context.domain, caller, body.operations, context.settings.identifier_prefix
    )


@router.get(f"/enterprises/{IDENTIFIER}/registry-head", response_model=RegistryHeadOut)
def registry_head(identifier: str, session: SessionDep, caller: Reader) -> RegistryHeadOut:
    """The enterprise's latest registry chain event, which its next operation must follow."""
    enterprise = enterprise_for(session, caller, identifier)
    return signed.head_out(signed.chain_head(session, enterprise))
