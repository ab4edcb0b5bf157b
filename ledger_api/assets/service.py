"""The carbon-asset book: accepting signed operations on lots, and the state they produce.

An operation is accepted only when (in order) it parses, its owner and recipient are
registered enterprises, it is signed by the owner's registered asset key, and the lot's rules
(``verifier.protocol.lot_rules`` — the very code a verifier replays) accept it against the lot's
state rebuilt from its stored operations. Then, in one transaction, the operation, its kind-5
leaf and its double-entry journal lines are written. Every asset operation first updates the
one row of ``asset_ledger_lock``, so concurrent operations are checked one after another.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlmodel import Session

from ledger_api.access.deps import Caller, manages
from ledger_api.core.errors import ApiError
from ledger_api.core.models import (
    AssetJournalLine,
    AssetLedgerLock,
    AssetLot,
    AssetOperationRow,
    Enterprise,
    LeafRow,
)
from ledger_api.registry.checks import canonical_identifier
from verifier.errors import AssetRuleError, InvalidAssetOperation, SignatureError
from verifier.protocol.asset_ops import AssetOperation, asset_operation_digest, asset_operation_leaf
from verifier.protocol.lot_rules import (
    LotState,
    apply,
    check_serial_prefix,
    journal_lines,
    replay,
)
from verifier.protocol.typed_data import Domain, recover_signer

#: Rule codes that mean "the lot has moved on", not "the operation is malformed".
CONFLICTS = frozenset({"asset_exists", "stale_prev", "already_retired", "insufficient_holding"})
#: Serials are stored as signed 64-bit integers; the protocol allows uint64.
MAX_SERIAL = 2**63 - 1


@dataclass(frozen=True)
class Accepted:
    row: AssetOperationRow
    lot: AssetLot
    state: LotState
    created: bool


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def parse_operation(message: object, identifier_prefix: str) -> AssetOperation:
    """The operation in ``message``, refused (422, with its field) at the edge unless: it
    parses; its serial prefix is canonical (the shared rule, ``lot_rules.check_serial_prefix``,
    checked here first so a prefix with an invisible character gets its own code too); its lot
    identifier is a canonical identifier under our prefix (as an enterprise's is); and its
    serials fit the database's signed 64-bit columns."""
    if isinstance(message, Mapping) and "serialPrefix" in message:
        try:
            check_serial_prefix(message["serialPrefix"])
        except AssetRuleError as exc:
            raise _rule_error(exc) from None
    try:
        op = AssetOperation.from_message(message)  # type: ignore[arg-type]
    except (InvalidAssetOperation, KeyError, TypeError) as exc:
        raise ApiError(422, "invalid_operation", str(exc), "operation") from None
    canonical_identifier(op.asset, identifier_prefix, "operation.asset")
    for field, serial in (("first", op.first), ("last", op.last)):
        if serial > MAX_SERIAL:
            raise ApiError(
                422, "serial_too_large", f"serials end at {MAX_SERIAL}", f"operation.{field}"
            )
    return op


def message_json(op: AssetOperation) -> str:
    """The stored message: sorted keys, no whitespace, UTF-8 — RFC 8785 for every message whose
    integers are at most 2^53 - 1, and the same spelling beyond (RFC 8785 refuses such integers,
    while serials and timestamps are uint64; Python's JSON reader reads them back exactly)."""
    return json.dumps(op.to_message(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _enterprise(session: Session, identifier: str, field: str) -> Enterprise:
    found = session.scalar(select(Enterprise).where(Enterprise.identifier == identifier))
    if found is None:
        raise ApiError(422, "unknown_enterprise", f"no enterprise {identifier}", field)
    return found


def check_signer(owner: Enterprise, digest: bytes, signature: str) -> None:
    """The operation is signed by the owner's registered asset key."""
    if owner.asset_signer is None:
        raise ApiError(
            422, "no_asset_signer", f"{owner.identifier} has no registered asset key", "signature"
        )
    try:
        signer = recover_signer(digest, bytes.fromhex(signature[2:]))
    except SignatureError as exc:
        raise ApiError(422, "invalid_signature", str(exc), "signature") from None
    if signer != owner.asset_signer:
        raise ApiError(
            403,
            "signer_not_owner",
            f"signed by {signer}, not by {owner.identifier}'s asset key",
            "signature",
        )


def lot_state(session: Session, lot_id: int) -> LotState:
    """The lot's state, replayed from its stored operations with the shared rules."""
    rows = session.scalars(
        select(AssetOperationRow)
        .where(AssetOperationRow.lot_id == lot_id)
        .order_by(AssetOperationRow.position)
    )
    ops = [
        (AssetOperation.from_message(json.loads(r.message)), bytes.fromhex(r.digest[2:]))
        for r in rows
    ]
    return replay(ops)


def _check_overlap(session: Session, op: AssetOperation) -> None:
    """No serial of a new lot may belong to another lot of the same program and prefix."""
    clash = session.scalar(
        select(AssetLot.identifier).where(
            AssetLot.program == op.program,
            AssetLot.serial_prefix == op.serial_prefix,
            AssetLot.first <= op.last,
            AssetLot.last >= op.first,
        )
    )
    if clash is not None:
        raise ApiError(
            409,
            "serial_overlap",
            f"serials {op.first}..{op.last} overlap lot {clash}",
            "operation.first",
        )


def _rule_error(exc: AssetRuleError) -> ApiError:
    status = 409 if exc.code in CONFLICTS else 422
    return ApiError(status, exc.code, exc.message, f"operation.{exc.field}")


def _existing(session: Session, digest: str) -> Accepted | None:
    row = session.scalar(select(AssetOperationRow).where(AssetOperationRow.digest == digest))
    if row is None:
        return None
    lot = session.get(AssetLot, row.lot_id)
    assert lot is not None and lot.id is not None
    return Accepted(row, lot, lot_state(session, lot.id), created=False)


def accept(session: Session, domain: Domain, op: AssetOperation, signature: str) -> Accepted:
    """Check and store one signed operation (all or nothing); a repeat is a no-op."""
    digest = asset_operation_digest(domain, op)
    if (found := _existing(session, _hex(digest))) is not None:
        return found
    owner = _enterprise(session, op.owner, "operation.owner")
    recipient = _enterprise(session, op.recipient, "operation.recipient") if op.recipient else None
    check_signer(owner, digest, signature)
    # The lock first, then fresh reads: nothing can change the lots between check and write.
    session.execute(update(AssetLedgerLock).values(operations=AssetLedgerLock.operations + 1))
    lot = session.scalar(select(AssetLot).where(AssetLot.identifier == op.asset))
    before = lot_state(session, lot.id) if lot is not None and lot.id is not None else None
    try:
        after = apply(before, op, digest)
        lines = journal_lines(before, op)
    except AssetRuleError as exc:
        session.rollback()
        raise _rule_error(exc) from None
    if lot is None:
        _check_overlap(session, op)
        lot = AssetLot(
            identifier=op.asset,
            program=op.program,
            vintage=op.vintage,
            serial_prefix=op.serial_prefix,
            first=op.first,
            last=op.last,
            head=_hex(digest),
        )
        session.add(lot)
        session.flush()
    lot.head = _hex(digest)
    row = _write(session, domain, op, signature, digest, lot, owner, recipient)
    session.add_all(
        AssetJournalLine(operation_id=row.id, lot_id=lot.id, account=line.account, quantity=q)
        for line in lines
        if (q := line.quantity) != 0
    )
    session.commit()
    return Accepted(row, lot, after, created=True)


def _write(
    session: Session,
    domain: Domain,
    op: AssetOperation,
    signature: str,
    digest: bytes,
    lot: AssetLot,
    owner: Enterprise,
    recipient: Enterprise | None,
) -> AssetOperationRow:
    leaf = asset_operation_leaf(domain, op, bytes.fromhex(signature[2:]))
    session.execute(
        insert(LeafRow).values(
            kind=int(leaf.kind),
            digest=_hex(leaf.digest),
            aux=_hex(leaf.aux),
            hash=_hex(leaf.hash()),
        )
    )
    position = session.scalar(
        select(AssetOperationRow.position)
        .where(AssetOperationRow.lot_id == lot.id)
        .order_by(AssetOperationRow.position.desc())  # type: ignore[attr-defined]
    )
    row = AssetOperationRow(
        lot_id=lot.id,
        position=0 if position is None else position + 1,
        action=op.action,
        digest=_hex(digest),
        leaf_hash=_hex(leaf.hash()),
        message=message_json(op),
        signature=signature.lower(),
        owner_id=owner.id,
        recipient_id=recipient.id if recipient else None,
        first=op.first,
        last=op.last,
    )
    session.add(row)
    session.flush()
    return row


def submit(
    session: Session,
    domain: Domain,
    caller: Caller,
    message: object,
    signature: str,
    identifier_prefix: str,
) -> Accepted:
    """Accept one signed operation of an enterprise ``caller`` manages (404 for any other, as
    for one that does not exist)."""
    op = parse_operation(message, identifier_prefix)
    owner = session.scalar(select(Enterprise.id).where(Enterprise.identifier == op.owner))
    if owner is None or not manages(caller, owner):
        raise ApiError(404, "enterprise_not_found", f"no enterprise {op.owner}", "operation.owner")
    return accept(session, domain, op, signature)
