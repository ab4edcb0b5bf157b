"""Reading the asset book: lots and their state, who holds what, and the claims a proof
bundle is built for. A caller sees a lot when it may see one of the lot's parties."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ledger_api.access.deps import Caller, sees
from ledger_api.assets.proofs import asset_proof
from ledger_api.assets.schemas import (
    AssetOperationOut,
    HeldRangeOut,
    HoldingOut,
    LotOut,
    PendingRangeOut,
    RetirementOut,
    SerialRangeOut,
)
from ledger_api.assets.service import Accepted, lot_state, lot_visible
from ledger_api.core.errors import ApiError, LedgerError, not_found
from ledger_api.core.models import (
    AssetJournalLine,
    AssetLot,
    AssetOperationRow,
    Enterprise,
    LeafRow,
)
from ledger_api.ledger.proofs import confirmed_batch
from verifier.formats.asset import AssetProofBundle
from verifier.protocol.lot_rules import HELD, PENDING, LotState
from verifier.protocol.typed_data import Domain


def lot_out(lot: AssetLot, state: LotState) -> LotOut:
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
            SerialRangeOut(
                first=r.first,
                last=r.last,
                status=r.status,
                holder=r.holder,
                origin=r.origin or None,
            )
            for r in state.ranges
        ],
    )


def _anchored(session: Session, leaf_hash: str) -> bool:
    batch_id = session.scalar(select(LeafRow.batch_id).where(LeafRow.hash == leaf_hash))
    try:
        confirmed_batch(session, batch_id, "")
    except LedgerError:
        return False
    return True


def operation_out(session: Session, accepted: Accepted) -> AssetOperationOut:
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
        state=lot_out(accepted.lot, accepted.state),
    )


def visible_lot(session: Session, caller: Caller, identifier: str) -> AssetLot:
    """The lot if ``caller`` may see one of its parties; a lot's history is shared by all of
    them, as its proofs disclose it."""
    lot = session.scalar(select(AssetLot).where(AssetLot.identifier == identifier))
    if lot is not None and lot.id is not None and lot_visible(session, caller, lot.id):
        return lot
    raise not_found("asset", identifier)


def lot_view(session: Session, caller: Caller, identifier: str) -> LotOut:
    lot = visible_lot(session, caller, identifier)
    return lot_out(lot, lot_state(session, lot.id or 0))


def _visible_operation(session: Session, caller: Caller, digest: str) -> AssetOperationRow:
    row = session.scalar(select(AssetOperationRow).where(AssetOperationRow.digest == digest))
    if row is None or not any(
        i is not None and sees(session, caller, i) for i in (row.owner_id, row.recipient_id)
    ):
        raise not_found("asset_operation", digest)
    return row


def retirement_proof(
    session: Session, engine: Engine, domain: Domain, caller: Caller, digest: str
) -> AssetProofBundle:
    """Proof of a retirement or surrender; 409 until anchored."""
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
    return asset_proof(session, engine, domain, lot, claim)


def holding_proof(
    session: Session,
    engine: Engine,
    domain: Domain,
    caller: Caller,
    identifier: str,
    holder: str,
    serials: tuple[int, int],
) -> AssetProofBundle:
    """Proof that ``holder`` holds ``serials`` (first, last) of the lot as of its latest
    operation; 409 until that operation is anchored."""
    first, last = serials
    holder_id = session.scalar(select(Enterprise.id).where(Enterprise.identifier == holder))
    if holder_id is None or not sees(session, caller, holder_id):
        raise not_found("enterprise", holder)
    lot = visible_lot(session, caller, identifier)
    state = lot_state(session, lot.id or 0)
    held = any(
        r[2] == HELD and r[3] == holder and r[0] <= first and last <= r[1] for r in state.ranges
    )
    if first > last or not held:
        raise ApiError(422, "not_held", f"{holder} does not hold {first}..{last}", "first")
    claim: dict[str, Any] = {
        "type": "holding",
        "asset": lot.identifier,
        "holder": holder,
        "first": first,
        "last": last,
    }
    return asset_proof(session, engine, domain, lot, claim)


def _balances(session: Session, me: str) -> dict[int, dict[str, int]]:
    """Per lot id: what ``me`` holds, awaits, retired and surrendered, from the journal."""
    accounts = {
        f"holding:{me}": "held",
        f"pending:{me}": "pending",
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
    return per_lot


def _retirements(
    session: Session, base: str, lot_id: int, enterprise: Enterprise
) -> list[RetirementOut]:
    rows = session.scalars(
        select(AssetOperationRow).where(
            AssetOperationRow.lot_id == lot_id,
            AssetOperationRow.owner_id == enterprise.id,
            or_(AssetOperationRow.action == "retire", AssetOperationRow.action == "surrender"),
        )
    )
    return [
        RetirementOut(
            operation=row.digest,
            action=row.action,
            first=row.first,
            last=row.last,
            proof=f"{base}/v1/asset-operations/{row.digest}/proof",
        )
        for row in rows
    ]


def holding_summary(session: Session, base: str, enterprise: Enterprise) -> list[HoldingOut]:
    """Per lot: what the enterprise holds, awaits (sent to it, not yet accepted: never part
    of ``held``), retired and surrendered (from the journal), its held ranges and a proof link
    for each, its pending ranges with their senders, and its retirements with their proofs."""
    me = enterprise.identifier
    out = []
    for lot_id, totals in sorted(_balances(session, me).items()):
        lot = session.get(AssetLot, lot_id)
        assert lot is not None
        state = lot_state(session, lot_id)
        path = f"{base}/v1/assets/{quote(lot.identifier)}/proof"
        held = [
            HeldRangeOut(
                first=r[0], last=r[1], proof=f"{path}?holder={quote(me)}&first={r[0]}&last={r[1]}"
            )
            for r in state.ranges
            if r.status == HELD and r.holder == me
        ]
        waiting = [
            PendingRangeOut(first=r.first, last=r.last, sender=r.origin)
            for r in state.ranges
            if r.status == PENDING and r.holder == me
        ]
        out.append(
            HoldingOut(
                asset=lot.identifier,
                program=lot.program,
                vintage=lot.vintage,
                held=totals.get("held", 0),
                pending=totals.get("pending", 0),
                retired=totals.get("retired", 0),
                surrendered=totals.get("surrendered", 0),
                held_ranges=held,
                pending_ranges=waiting,
                retirements=_retirements(session, base, lot_id, enterprise),
            )
        )
    return out
