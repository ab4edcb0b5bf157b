"""Reading stored activity records back: as signed, and with their proof bundle."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ledger_api.access.deps import Caller, sees
from ledger_api.activity.schemas import RecordOut
from ledger_api.core.errors import not_found
from ledger_api.core.models import ActivityRecordRow
from ledger_api.ledger.proofs import record_proof, to_record
from verifier.formats.record import RecordProofBundle
from verifier.protocol.typed_data import Domain, typed_data


def visible_record(session: Session, caller: Caller, digest: str, domain: Domain) -> RecordOut:
    """The record as signed, if ``caller`` may see its enterprise; else 404, as for none."""
    row = session.scalar(select(ActivityRecordRow).where(ActivityRecordRow.digest == digest))
    if row is None or not sees(session, caller, row.enterprise_id):
        raise not_found("record", digest)
    return RecordOut(
        digest=row.digest,
        typed_data=typed_data(domain, to_record(session, row)),
        signature=row.signature,
        received_at=row.received_at,
    )


def visible_record_proof(
    session: Session, engine: Engine, domain: Domain, caller: Caller, digest: str
) -> RecordProofBundle:
    """The record's proof bundle; 404 unless ``caller`` may see it, 409 until anchored."""
    owner = session.scalar(
        select(ActivityRecordRow.enterprise_id).where(ActivityRecordRow.digest == digest)
    )
    if owner is None or not sees(session, caller, owner):
        raise not_found("record", digest)
    return record_proof(session, engine, domain, digest)
