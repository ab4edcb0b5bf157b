"""The carbon-asset book: accepting signed operations on lots, and the state they produce.

An operation is accepted only when (in order) it parses, its owner is an enterprise the caller
manages, it is signed by the right key (the programme's registered issuer key for an issue,
the owner's registered asset key for anything else), and the lot's rules
(``verifier.protocol.lot_rules`` — the very code a verifier replays) accept it against the lot's
state rebuilt from its stored operations. Then, in one transaction, the operation, its kind-5
leaf and its double-entry journal lines are written. Every asset operation first updates the
one row of ``asset_ledger_lock``, so concurrent operations are checked one after another.

No answer tells a caller about a lot or an enterprise it may not see: a lot none of whose
parties the caller sees is answered as one never issued, a transfer's recipient is not looked
up at all (units wait for the recipient's signed accept, so naming anyone is harmless), and
an overlap with another lot's serials names neither the lot nor its range.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlmodel import Session

from ledger_api.access.deps import Caller, manages, sees
from ledger_api.assets.issuers import issuer_of
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
    LOT_RULES_VERSION,
    LotState,
    apply,
    check_serial_prefix,
    journal_lines,
    replay,
)
from verifier.protocol.typed_data import Domain, recover_signer

#: Rule codes that mean "the lot has moved on", not "the operation is malformed".
CONFLICTS = frozenset(
    {
        "asset_exists",
        "stale_prev",
        "already_retired",
        "insufficient_holding",
        "transfer_pending",
        "not_pending",
    }
)
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
    if op.recipient:  # its shape only: whether it exists is nobody's business but its own
        canonical_identifier(op.recipient, identifier_prefix, "operation.recipient")
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


def _enterprise(session: Session, identifier: str) -> Enterprise | None:
    return session.scalar(select(Enterprise).where(Enterprise.identifier == identifier))


def _enterprise_not_found() -> ApiError:
    # No identifier in the message: the answer for an unseen enterprise is byte for byte the
    # answer for an absent one.
    return ApiError(404, "enterprise_not_found", "no such enterprise", "operation.owner")


def check_signer(
    session: Session, op: AssetOperation, owner: Enterprise, digest: bytes, signature: str
) -> None:
    """An issue is signed by its programme's registered issuer key (so no enterprise can mint
    units for itself); any other operation by the owner's registered asset key."""
    if op.action == "issue":
        expected, code = issuer_of(session, op.program), "signer_not_issuer"
        whose = f"the {op.program} programme's issuer key"
        if expected is None:
            raise ApiError(
                422, "no_issuer_key", f"programme {op.program} has no issuer key", "signature"
            )
    else:
        expected, code = owner.asset_signer, "signer_not_owner"
        whose = f"{owner.identifier}'s asset key"
        if expected is None:
            raise ApiError(
                422,
                "no_asset_signer",
                f"{owner.identifier} has no registered asset key",
                "signature",
            )
    try:
        signer = recover_signer(digest, bytes.fromhex(signature[2:]))
    except SignatureError as exc:
        raise ApiError(422, "invalid_signature", str(exc), "signature") from None
    if signer != expected:
        raise ApiError(403, code, f"signed by {signer}, not by {whose}", "signature")


def lot_visible(session: Session, caller: Caller, lot_id: int) -> bool:
    """May ``caller`` see the lot: does it see one of the lot's parties (any operation's owner
    or recipient)? A lot's history is shared by all of them, as its proofs disclose it."""
    parties = session.execute(
        select(AssetOperationRow.owner_id, AssetOperationRow.recipient_id).where(
            AssetOperationRow.lot_id == lot_id
        )
    )
    ids = {i for pair in parties for i in pair if i is not None}
    return any(sees(session, caller, i) for i in ids)


def lot_state(session: Session, lot_id: int) -> LotState:
    """The lot's state, replayed from its stored operations with the shared rules, of the
    version the lot was written under."""
    lot = session.get(AssetLot, lot_id)
    assert lot is not None
    rows = session.scalars(
        select(AssetOperationRow)
        .where(AssetOperationRow.lot_id == lot_id)
        .order_by(AssetOperationRow.position)
    )
    ops = [
        (AssetOperation.from_message(json.loads(r.message)), bytes.fromhex(r.digest[2:]))
        for r in rows
    ]
    return replay(ops, lot.rules)


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
    if clash is not None:  # whose lot, and which of its serials, is not the caller's to learn
        raise ApiError(409, "serial_overlap", "serial range unavailable", "operation.first")


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


def _state_for(
    session: Session, caller: Caller, op: AssetOperation
) -> tuple[AssetLot | None, LotState | None]:
    """The lot and its state as the caller may know them: a lot it may not see is answered
    as one never issued, so the rules' answers (stale head, terms, range) stay with its
    parties. An issue still meets an existing lot (``asset_exists``): only the issuer's key
    gets that far, and it may know its own lots."""
    lot = session.scalar(select(AssetLot).where(AssetLot.identifier == op.asset))
    if lot is None or lot.id is None:
        return None, None
    if op.action != "issue" and not lot_visible(session, caller, lot.id):
        return None, None
    return lot, lot_state(session, lot.id)


def accept(
    session: Session, domain: Domain, caller: Caller, op: AssetOperation, signature: str
) -> Accepted:
    """Check and store one signed operation of an enterprise ``caller`` manages (all or
    nothing); a repeat is a no-op."""
    digest = asset_operation_digest(domain, op)
    owner = _enterprise(session, op.owner)
    if owner is None or owner.id is None or not manages(caller, owner.id):
        raise _enterprise_not_found()
    # The digest commits to the owner, so a repeat is always the caller's own operation.
    if (found := _existing(session, _hex(digest))) is not None:
        return found
    check_signer(session, op, owner, digest, signature)
    recipient = _enterprise(session, op.recipient) if op.recipient else None
    # The lock first, then fresh reads: nothing can change the lots between check and write.
    session.execute(update(AssetLedgerLock).values(operations=AssetLedgerLock.operations + 1))
    lot, before = _state_for(session, caller, op)
    if lot is not None and lot.rules != LOT_RULES_VERSION and op.action != "issue":
        session.rollback()
        raise ApiError(
            409,
            "lot_rules_retired",
            f"the lot was written under lot rules {lot.rules} and takes no new operations",
            "operation.asset",
        )
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
            rules=LOT_RULES_VERSION,
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
    return accept(session, domain, caller, parse_operation(message, identifier_prefix), signature)
