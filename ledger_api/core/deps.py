"""Dependencies of the API routes: the ledger's context and a database session per request."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from anchoring.connection import connect
from anchoring.deployment import DeploymentError, DeploymentRecord, record_path
from ledger_api.core.allowance import IngestLimiter
from ledger_api.core.config import Settings
from verifier.protocol.typed_data import Domain


@dataclass(frozen=True)
class LedgerContext:
    """What every request may need, built once at start-up."""

    settings: Settings
    engine: Engine
    deployment: DeploymentRecord
    limiter: IngestLimiter

    @property
    def domain(self) -> Domain:
        return Domain(self.deployment.chain_id, self.deployment.address)


def find_deployment(settings: Settings) -> DeploymentRecord:
    """The deployment whose contract the ledger's records are bound to.

    The API must start while the chain is down (ingestion never waits for the chain), so the
    record file decides; the chain is asked for its id only when no setting or file does.
    """
    records = sorted(settings.deployments_dir.glob("*.json"))
    if settings.chain_id is not None:
        path = record_path(settings.deployments_dir, settings.chain_id)
    elif len(records) == 1:
        path = records[0]
    else:
        w3 = connect(settings.rpc_url, None, settings.rpc_timeout_s)
        path = record_path(settings.deployments_dir, w3.eth.chain_id)
    if not path.is_file():
        raise DeploymentError(f"no deployment record at {path}: run `carbon-ledger deploy`")
    return DeploymentRecord.load(path)


def get_context(request: Request) -> LedgerContext:
    return request.app.state.ledger


Context = Annotated[LedgerContext, Depends(get_context)]


def get_session(context: Context) -> Iterator[Session]:
    with Session(context.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
