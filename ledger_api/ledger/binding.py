"""One deployment per ledger database, whichever host asks.

Every host reads the deployment (chain id and anchor contract) from its own record file, and
records are signed for that domain. Two hosts with different files would accept records bound
to two contracts into one ledger; so the first process to start binds the database to its
deployment, and a process whose record differs refuses to start.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from anchoring.deployment import DeploymentError, DeploymentRecord
from ledger_api.core.models import LedgerBinding

NAME = "deployment"


def bind_deployment(engine: Engine, record: DeploymentRecord) -> None:
    """Bind the database to ``record``, or check it is the deployment already bound.
    Raises :class:`DeploymentError` naming both when they differ."""
    with Session(engine) as session:
        bound = session.get(LedgerBinding, NAME)
        if bound is None:
            session.add(LedgerBinding(name=NAME, chain_id=record.chain_id, contract=record.address))
            try:
                session.commit()
            except IntegrityError:  # another process bound it first: check against that
                session.rollback()
                bound = session.get(LedgerBinding, NAME)
        if bound is not None and (bound.chain_id, bound.contract.lower()) != (
            record.chain_id,
            record.address.lower(),
        ):
            raise DeploymentError(
                f"this ledger database is bound to contract {bound.contract} on chain "
                f"{bound.chain_id}, but this host's deployment record names {record.address} "
                f"on chain {record.chain_id}: copy the bound record to this host"
            )
