"""Registry events: every change to who may report what is itself a ledger leaf (kind 3).

An event is canonical JSON; its keccak256 is the leaf digest, so once anchored nobody can
rewrite when a terminal was bound to a source or when it was revoked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from sqlalchemy import insert, select
from sqlmodel import Session

from ledger_api.core.models import LeafRow, RegistryEvent
from verifier.protocol.events import EVENT_FORMAT
from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import LeafKind, leaf_hash

ZERO = "0x" + "00" * 32


@dataclass(frozen=True)
class ChainLink:
    """An event's place in its enterprise's registry chain: the fields it adds to the event
    (``enterprise``, ``index``, ``prev``, and for signed operations ``effective`` and
    ``signature``) and the columns that keep the chain linear."""

    enterprise_id: int
    index: int
    fields: dict[str, Any]


def record_event(
    session: Session, type_: str, subject: str, *, link: ChainLink | None = None, **fields: Any
) -> RegistryEvent:
    """Add the event and its leaf to the caller's transaction."""
    if link is not None:
        fields = {**fields, **link.fields}
    body = {
        "format": EVENT_FORMAT,
        "version": 1,
        "type": type_,
        "subject": subject,
        **fields,
    }
    if "signature" not in fields:
        # A signed operation's event carries no ledger time, so its signer knows the digest
        # (the next operation's ``prev``) without asking the ledger.
        body["at"] = int(datetime.now(UTC).timestamp())
    canonical = rfc8785.dumps(body)
    digest = keccak256(canonical)
    hashed = "0x" + leaf_hash(LeafKind.REGISTRY_EVENT, digest, bytes(32)).hex()
    session.execute(
        insert(LeafRow).values(
            kind=int(LeafKind.REGISTRY_EVENT), digest="0x" + digest.hex(), aux=ZERO, hash=hashed
        )
    )
    event = RegistryEvent(
        type=type_,
        subject=subject,
        body=canonical.decode(),
        digest="0x" + digest.hex(),
        leaf_hash=hashed,
        enterprise_id=link.enterprise_id if link else None,
        chain_index=link.index if link else None,
    )
    session.add(event)
    return event


def device_events(session: Session, address: str) -> list[dict[str, Any]]:
    """The events about a device, oldest first, as stored."""
    rows = session.scalars(
        select(RegistryEvent).where(RegistryEvent.subject == address).order_by(RegistryEvent.id)
    )
    return [json.loads(row.body) for row in rows]
