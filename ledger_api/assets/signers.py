"""An enterprise's asset key: the address that signs its asset operations, set by an anchored
registry event."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from ledger_api.assets.proofs import SIGNER_SET
from ledger_api.assets.schemas import SignerOut
from ledger_api.core.models import Enterprise, RegistryEvent
from ledger_api.registry.checks import checksum_address
from ledger_api.registry.events import record_event
from ledger_api.registry.signed import refuse_unsigned_change


def set_signer(session: Session, enterprise: Enterprise, address: str) -> tuple[SignerOut, bool]:
    """Register the key (an anchored event; commits); False when it was already the one, and
    the event that set it is answered. An enterprise with a signed registry chain changes its
    key only by a signed ``enterprise.signer_set`` operation (409 otherwise)."""
    identifier = enterprise.identifier
    signer = checksum_address(address, "address")
    if enterprise.asset_signer != signer:
        refuse_unsigned_change(session, enterprise, "address")
        event = record_event(session, SIGNER_SET, identifier, signer=signer)
        enterprise.asset_signer = signer
        session.add(enterprise)
        session.commit()
        return SignerOut(enterprise=identifier, signer=signer, event=event.digest), True
    event_digest = session.scalar(
        select(RegistryEvent.digest)
        .where(RegistryEvent.subject == identifier, RegistryEvent.type == SIGNER_SET)
        .order_by(RegistryEvent.id.desc())  # type: ignore[attr-defined]
    )
    return SignerOut(enterprise=identifier, signer=signer, event=event_digest or ""), False
