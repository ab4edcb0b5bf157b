"""Regulators' attestations of enterprise registrations: who counts in a population average.

Anyone the operator lets register can add firms to an industry; a shell firm with a made-up
low intensity would pull the average down and lift every real firm's grade. A population
average therefore counts only enterprises a regulator has attested, each attestation an
anchored registry event naming the regulator and the registration it vouches for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from ledger_api.access.deps import Caller
from ledger_api.core.models import Enterprise, RegistryEvent
from ledger_api.registry.events import record_event
from verifier.protocol.events import ENTERPRISE_REGISTERED
from verifier.protocol.population import REGISTRATION_ATTESTED


@dataclass(frozen=True)
class Attestation:
    event: str
    regulator: str
    registration: str | None
    created: bool


def _registration(session: Session, enterprise: Enterprise) -> str | None:
    return session.scalar(
        select(RegistryEvent.digest)
        .where(
            RegistryEvent.type == ENTERPRISE_REGISTERED,
            RegistryEvent.subject == enterprise.identifier,
        )
        .order_by(RegistryEvent.id)
    )


def attest(session: Session, caller: Caller, enterprise: Enterprise) -> Attestation:
    """Record the calling regulator's attestation (commits); a second one by the same
    regulator is answered with the first."""
    for event in session.scalars(
        select(RegistryEvent).where(
            RegistryEvent.type == REGISTRATION_ATTESTED,
            RegistryEvent.subject == enterprise.identifier,
        )
    ):
        if json.loads(event.body).get("regulator") == caller.name:
            return Attestation(event.digest, caller.name, _registration(session, enterprise), False)
    registration = _registration(session, enterprise)
    event = record_event(
        session,
        REGISTRATION_ATTESTED,
        enterprise.identifier,
        regulator=caller.name,
        registration=registration,
    )
    session.commit()
    return Attestation(event.digest, caller.name, registration, True)


def attested(session: Session, identifiers: list[str]) -> set[str]:
    """Those of ``identifiers`` a regulator has attested."""
    rows = session.scalars(
        select(RegistryEvent.subject).where(
            RegistryEvent.type == REGISTRATION_ATTESTED,
            RegistryEvent.subject.in_(identifiers),  # type: ignore[attr-defined]
        )
    )
    return set(rows)
