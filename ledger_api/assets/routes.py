"""Carbon assets: signed operations on lots, lots and their proofs (an enterprise's asset key
and balances: ``enterprise_routes``)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from ledger_api.access.deps import Manager, Reader
from ledger_api.assets import holdings
from ledger_api.assets.schemas import (
    AssetOperationIn,
    AssetOperationOut,
    AssetTypedDataOut,
    LotOut,
)
from ledger_api.assets.service import submit
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.paths import IDENTIFIER
from verifier.formats.asset import AssetProofBundle
from verifier.protocol.asset_ops import ASSET_OPERATION_FIELDS, ASSET_OPERATION_TYPE
from verifier.protocol.typed_data import DOMAIN_FIELDS

router = APIRouter(prefix="/v1", tags=["assets"])


@router.get("/asset-operations/typed-data", response_model=AssetTypedDataOut)
def asset_typed_data() -> AssetTypedDataOut:
    """The EIP-712 types an enterprise's key signs asset operations with (same domain as
    activity records: GET /v1/typed-data)."""
    return AssetTypedDataOut(
        types={"EIP712Domain": DOMAIN_FIELDS, ASSET_OPERATION_TYPE: ASSET_OPERATION_FIELDS},
        primaryType=ASSET_OPERATION_TYPE,
    )


@router.post(
    "/asset-operations",
    status_code=status.HTTP_201_CREATED,
    response_model=AssetOperationOut,
    responses={200: {"description": "The operation was already stored"}},
)
def submit_operation(
    body: AssetOperationIn,
    session: SessionDep,
    context: Context,
    caller: Manager,
    response: Response,
) -> AssetOperationOut:
    """Store one signed operation (issue, transfer, retire, surrender), all or nothing."""
    accepted = submit(
        session,
        context.domain,
        caller,
        body.operation,
        body.signature,
        context.settings.identifier_prefix,
    )
    if not accepted.created:
        response.status_code = status.HTTP_200_OK
    return holdings.operation_out(session, accepted)


@router.get("/asset-operations/{digest}/proof", response_model=AssetProofBundle)
def get_retirement_proof(
    digest: str, session: SessionDep, context: Context, caller: Reader
) -> JSONResponse:
    """Proof of a retirement or surrender (docs/asset-proof-format.md); 409 until anchored."""
    bundle = holdings.retirement_proof(session, context.engine, context.domain, caller, digest)
    # The bundle was checked against its format when built: answered as built.
    return JSONResponse(bundle.to_json())


@router.get(f"/assets/{IDENTIFIER}/proof", response_model=AssetProofBundle)
def get_holding_proof(
    identifier: str,
    session: SessionDep,
    context: Context,
    caller: Reader,
    holder: str = Query(..., max_length=128),
    first: int = Query(..., ge=0, le=2**63 - 1),
    last: int = Query(..., ge=0, le=2**63 - 1),
) -> JSONResponse:
    """Proof that ``holder`` holds serials ``first..last`` of the lot, as of its latest
    operation; 409 until that operation is anchored."""
    bundle = holdings.holding_proof(
        session, context.engine, context.domain, caller, identifier, holder, (first, last)
    )
    return JSONResponse(bundle.to_json())


@router.get(f"/assets/{IDENTIFIER}", response_model=LotOut)
def get_lot(identifier: str, session: SessionDep, caller: Reader) -> LotOut:
    """A lot: its terms, its head and who holds, retired or surrendered which serials."""
    return holdings.lot_view(session, caller, identifier)
