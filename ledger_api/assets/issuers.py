"""The key that signs a carbon-asset programme's issues: named by an admin or regulator in an
anchored ``program.issuer_set`` registry event, so a verifier can check every lot's issue
against it. Without one, a programme's units cannot be issued at all."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from ledger_api.assets.schemas import IssuerOut
from ledger_api.core.models import AssetIssuer
from ledger_api.registry.checks import checksum_address
from ledger_api.registry.events import record_event
from verifier.protocol.events import ISSUER_SET


def issuer_of(session: Session, program: str) -> str | None:
    """The address of the programme's issuer key, if one is registered."""
    return session.scalar(select(AssetIssuer.signer).where(AssetIssuer.program == program))


def set_issuer(session: Session, program: str, address: str) -> tuple[IssuerOut, bool]:
    """Name the programme's issuer key (an anchored event; commits); False when it already was,
    and the event that named it is answered. Issues signed by an earlier key are refused from
    now on."""
    signer = checksum_address(address, "address")
    row = session.scalar(select(AssetIssuer).where(AssetIssuer.program == program))
    if row is not None and row.signer == signer:
        return IssuerOut(program=program, signer=signer, event=row.event), False
    event = record_event(session, ISSUER_SET, program, signer=signer)
    if row is None:
        row = AssetIssuer(program=program, signer=signer, event=event.digest)
    else:
        row.signer, row.event = signer, event.digest
    session.add(row)
    session.commit()
    return IssuerOut(program=program, signer=signer, event=event.digest), True
