"""The population proof bundle: a peer-graded entry's members, for those allowed to see them
all (``docs/figure-proof-format.md`` section 9)."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from accounting.grading import PEERS_DEFINITION
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import Enterprise, Evaluation
from ledger_api.evaluations.period_rating import peer_rows
from ledger_api.evaluations.proofs import _entry_proof
from ledger_api.ledger.proofs import registry_proofs
from verifier.formats.figure import DomainJson
from verifier.formats.population import MemberJson, PopulationProofBundle
from verifier.protocol.population import REGISTRATION_ATTESTED, members_digest
from verifier.protocol.typed_data import Domain


def population_proof(
    session: Session, engine: Engine, domain: Domain, identifier: str
) -> PopulationProofBundle:
    """The graded entry and its members' anchored entries and attestations (409 until every
    one is anchored, or when the members cannot be found again)."""
    row = session.scalar(select(Evaluation).where(Evaluation.identifier == identifier))
    if row is None or row.id is None:
        raise not_found("evaluation", identifier)
    entry = json.loads(row.entry)
    average = (entry.get("rating") or {}).get("industry_average") or {}
    named = (average.get("population") or {}).get("members_digest")
    if (average.get("population") or {}).get("definition") != PEERS_DEFINITION:
        raise ApiError(
            422, "no_population_average", "the evaluation is not graded against its peers"
        )
    enterprise = session.get(Enterprise, row.enterprise_id)
    assert enterprise is not None
    period = (row.period_start, row.period_end)
    members = peer_rows(session, enterprise, period, before=row.id)
    if members_digest(bytes.fromhex(m.digest[2:]) for _, m in members) != named:
        # An attestation added since the evaluation changes who counts as it stood then.
        raise ApiError(
            409,
            "population_unrecoverable",
            "the peers this evaluation was graded against cannot be found again",
            "evaluation",
        )
    return PopulationProofBundle(
        domain=DomainJson(chainId=domain.chain_id, verifyingContract=domain.verifying_contract),
        entry=entry,
        entryProof=_entry_proof(session, engine, row),
        members=tuple(
            MemberJson(
                entry=json.loads(member.entry),
                entryProof=_entry_proof(session, engine, member),
                attestation=registry_proofs(session, engine, name, (REGISTRATION_ATTESTED,))[0],
            )
            for name, member in members
        ),
    )
