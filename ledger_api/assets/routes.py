"""Carbon assets: enterprises' asset keys, signed operations on lots, lots, balances, proofs."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import func, or_, select
from sqlmodel import Session

from ledger_api.access.deps import Caller, Manager, Reader, enterprise_for, manages, sees
from ledger_api.assets.proofs import SIGNER_SET, asset_proof
from ledger_api.assets.service import accept, lot_state, parse_operation
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import (
    AssetJournalLine,
    AssetLot,
    AssetOperationRow,
    Enterprise,
    Leaf,
    RegistryEvent,
)
from ledger_api.ledger.proofs import confirmed_batch
from ledger_api.registry.events import record_event
from ledger_api.registry.service import checksum_address
from ledger_api.schemas import (
    AssetOperationIn,
    AssetOperationOut,
    LotOut,
    SerialRangeOut,
    SignerIn,
    SignerOut,
)
from verifier.protocol.asset_ops import ASSET_OPERATION_FIELDS, ASSET_OPERATION_TYPE
from verifier.protocol.lot_rules import HELD, LotState
from verifier.protocol.typed_data import DOMAIN_FIELDS

router = APIRouter(tags=["assets"])


def _lot_out(lot: AssetLot, state: LotState) -> LotOut:
    return LotOut(
        identifier=lot.identifier,
        program=lot.program,
        vintage=lot.vintage,
        serial_prefix=lot.serial_prefix,
        first=lot.first,
        last=lot.last,
        head=lot.head,
        operations=state.operations,
        ranges=[
            SerialRangeOut(first=r[0], last=r[1], status=r[2], holder=r[3]) for r in state.ranges
        ],
    )


def _anchored(session: Session, leaf_hash: str) -> bool:
    batch_id = session.scalar(select(Leaf.batch_id).where(Leaf.hash == leaf_hash))
    try:
        confirmed_batch(session, batch_id, "")
    except ApiError:
        return False
    return True


@router.put(
    "/enterprises/{identifier:path}/signer",
    response_model=SignerOut,
    responses={201: {"description": "A new key was registered"}},
)
def set_signer(
    identifier: str, body: SignerIn, session: SessionDep, caller: Manager, response: Response
) -> SignerOut:
    """Register the key that signs the enterprise's asset operations (an anchored event);
    operations signed by an earlier key are refused from now on."""
    enterprise = enterprise_for(session, caller, identifier, write=True)
    signer = checksum_address(body.address, "address")
    if enterprise.asset_signer != signer:
        event = record_event(session, SIGNER_SET, identifier, signer=signer)
        enterprise.asset_signer = signer
        session.add(enterprise)
        session.commit()
        response.status_code = status.HTTP_201_CREATED
        return SignerOut(enterprise=identifier, signer=signer, event=event.digest)
    event_digest = session.scalar(  # unchanged: answer the event that set it
        select(RegistryEvent.digest)
        .where(RegistryEvent.subject == identifier, RegistryEvent.type == SIGNER_SET)
        .order_by(RegistryEvent.id.desc())  # type: ignore[attr-defined]
    )
    return SignerOut(enterprise=identifier, signer=signer, event=event_digest or "")


@router.get("/asset-operations/typed-data")
def asset_typed_data() -> dict[str, Any]:
    """The EIP-712 types an enterprise's key signs asset operations with (same domain as
    activity records: GET /v1/typed-data)."""
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, ASSET_OPERATION_TYPE: ASSET_OPERATION_FIELDS},
        "primaryType": ASSET_OPERATION_TYPE,
    }


@router.post(
    "/asset-operations",
    status_code=status.HTTP_201_CREATED,
    response_model=AssetOperationOut,
    response_model_by_alias=True,
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
    op = parse_operation(body.operation)
    owner = session.scalar(select(Enterprise.id).where(Enterprise.identifier == op.owner))
    if owner is None or not manages(caller, owner):
        raise ApiError(404, "enterprise_not_found", f"no enterprise {op.owner}", "operation.owner")
    accepted = accept(session, context.domain, op, body.signature)
    if not accepted.created:
        response.status_code = status.HTTP_200_OK
    row = accepted.row
    return AssetOperationOut(
        digest=row.digest,
        lot=accepted.lot.identifier,
        position=row.position,
        action=row.action,
        first=row.first,
        last=row.last,
        quantity=row.last - row.first + 1,
        status="stored" if accepted.created else "duplicate",
        anchored=_anchored(session, row.leaf_hash),
        state=_lot_out(accepted.lot, accepted.state),
    )


def _visible_lot(session: Session, caller: Caller, identifier: str) -> AssetLot:
    """The lot if ``caller`` may see one of its parties; a lot's history is shared by all of
    them, as its proofs disclose it."""
    lot = session.scalar(select(AssetLot).where(AssetLot.identifier == identifier))
    if lot is not None:
        parties = session.execute(
            select(AssetOperationRow.owner_id, AssetOperationRow.recipient_id).where(
                AssetOperationRow.lot_id == lot.id
            )
        )
        ids = {i for pair in parties for i in pair if i is not None}
        if any(sees(session, caller, i) for i in ids):
            return lot
    raise not_found("asset", identifier)


def _visible_operation(session: Session, caller: Caller, digest: str) -> AssetOperationRow:
    row = session.scalar(select(AssetOperationRow).where(AssetOperationRow.digest == digest))
    if row is None or not any(
        i is not None and sees(session, caller, i) for i in (row.owner_id, row.recipient_id)
    ):
        raise not_found("asset_operation", digest)
    return row


@router.get("/asset-operations/{digest}/proof")
def get_retirement_proof(
    digest: str, session: SessionDep, context: Context, caller: Reader
) -> dict[str, Any]:
    """Proof of a retirement or surrender (docs/asset-proof-format.md); 409 until anchored."""
    row = _visible_operation(session, caller, digest)
    if row.action not in ("retire", "surrender"):
        raise ApiError(422, "not_a_retirement", f"{digest} is a {row.action}", "digest")
    lot = session.get(AssetLot, row.lot_id)
    owner = session.get(Enterprise, row.owner_id)
    assert lot is not None and owner is not None
    claim = {
        "type": "retirement",
        "asset": lot.identifier,
        "holder": owner.identifier,
        "first": row.first,
        "last": row.last,
        "operation": row.digest,
    }
    return asset_proof(session, context.engine, context.domain, lot, claim).to_json()


@router.get("/assets/{identifier:path}/proof")
def get_holding_proof(
    identifier: str,
    session: SessionDep,
    context: Context,
    caller: Reader,
    holder: str = Query(..., max_length=128),
    first: int = Query(..., ge=0, le=2**63 - 1),
    last: int = Query(..., ge=0, le=2**63 - 1),
) -> dict[str, Any]:
    """Proof that ``holder`` holds serials ``first..last`` of the lot, as of its latest
    operation; 409 until that operation is anchored."""
    holder_id = session.scalar(select(Enterprise.id).where(Enterprise.identifier == holder))
    if holder_id is None or not sees(session, caller, holder_id):
        raise not_found("enterprise", holder)
    lot = _visible_lot(session, caller, identifier)
    state = lot_state(session, lot.id or 0)
    held = any(
        r[2] == HELD and r[3] == holder and r[0] <= first and last <= r[1] for r in state.ranges
    )
    if first > last or not held:
        raise ApiError(422, "not_held", f"{holder} does not hold {first}..{last}", "first")
    claim = {
        "type": "holding",
        "asset": lot.identifier,
        "holder": holder,
        "first": first,
        "last": last,
    }
    return asset_proof(session, context.engine, context.domain, lot, claim).to_json()


@router.get("/assets/{identifier:path}", response_model=LotOut, response_model_by_alias=True)
def get_lot(identifier: str, session: SessionDep, caller: Reader) -> LotOut:
    """A lot: its terms, its head and who holds, retired or surrendered which serials."""
    lot = _visible_lot(session, caller, identifier)
    return _lot_out(lot, lot_state(session, lot.id or 0))


def holding_summary(session: Session, base: str, enterprise: Enterprise) -> list[dict[str, Any]]:
    """Per lot: what the enterprise holds, retired and surrendered (from the journal), its
    held ranges and a proof link for each, and its retirements with theirs."""
    me = enterprise.identifier
    accounts = {
        f"holding:{me}": "held",
        f"retired:{me}": "retired",
        f"surrendered:{me}": "surrendered",
    }
    sums = session.execute(
        select(
            AssetJournalLine.lot_id, AssetJournalLine.account, func.sum(AssetJournalLine.quantity)
        )
        .where(AssetJournalLine.account.in_(accounts))  # type: ignore[attr-defined]
        .group_by(AssetJournalLine.lot_id, AssetJournalLine.account)
    )
    per_lot: dict[int, dict[str, int]] = {}
    for lot_id, account, total in sums:
        per_lot.setdefault(lot_id, {})[accounts[account]] = int(total)
    out = []
    for lot_id, totals in sorted(per_lot.items()):
        lot = session.get(AssetLot, lot_id)
        assert lot is not None
        state = lot_state(session, lot_id)
        path = f"{base}/v1/assets/{quote(lot.identifier)}/proof"
        held = [
            {
                "first": r[0],
                "last": r[1],
                "proof": f"{path}?holder={quote(me)}&first={r[0]}&last={r[1]}",
            }
            for r in state.ranges
            if r[2] == HELD and r[3] == me
        ]
        retirements = [
            {
                "operation": row.digest,
                "action": row.action,
                "first": row.first,
                "last": row.last,
                "proof": f"{base}/v1/asset-operations/{row.digest}/proof",
            }
            for row in session.scalars(
                select(AssetOperationRow).where(
                    AssetOperationRow.lot_id == lot_id,
                    AssetOperationRow.owner_id == enterprise.id,
                    or_(
                        AssetOperationRow.action == "retire",
                        AssetOperationRow.action == "surrender",
                    ),
                )
            )
        ]
        out.append(
            {
                "asset": lot.identifier,
                "program": lot.program,
                "vintage": lot.vintage,
                "held": totals.get("held", 0),
                "retired": totals.get("retired", 0),
                "surrendered": totals.get("surrendered", 0),
                "heldRanges": held,
                "retirements": retirements,
            }
        )
    return out


@router.get("/enterprises/{identifier:path}/assets")
def get_enterprise_assets(
    identifier: str, session: SessionDep, request: Request, caller: Reader
) -> list[dict[str, Any]]:
    """The enterprise's balances per lot (held, retired, surrendered) with proof links."""
    enterprise = enterprise_for(session, caller, identifier)
    return holding_summary(session, str(request.base_url).rstrip("/"), enterprise)
