"""Asset proof bundles (``docs/asset-proof-format.md``): a lot's whole signed history, each
operation with its inclusion proof, and the anchored events naming its signers' keys (the
programme's issuer key, the enterprises' asset keys)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ledger_api.core.models import AssetLot, AssetOperationRow, LeafRow
from ledger_api.ledger.proofs import inclusion, registry_proofs
from verifier.formats.asset import AssetOperationProofJson, AssetProofBundle
from verifier.protocol.events import ENTERPRISE_REGISTERED, ISSUER_SET, SIGNER_SET
from verifier.protocol.typed_data import Domain

__all__ = ["SIGNER_SET", "asset_proof"]


def asset_proof(
    session: Session, engine: Engine, domain: Domain, lot: AssetLot, claim: dict[str, Any]
) -> AssetProofBundle:
    """The bundle proving ``claim`` about ``lot``; 409 while any part is not yet anchored."""
    rows = list(
        session.scalars(
            select(AssetOperationRow)
            .where(AssetOperationRow.lot_id == lot.id)
            .order_by(AssetOperationRow.position)
        )
    )
    operations = []
    owners: dict[str, None] = {}
    for row in rows:
        message = json.loads(row.message)
        owners[message["owner"]] = None
        leaf = session.scalar(select(LeafRow).where(LeafRow.hash == row.leaf_hash))
        assert leaf is not None
        included = inclusion(session, engine, leaf, f"asset operation {row.digest}")
        operations.append(
            AssetOperationProofJson(operation=message, signature=row.signature, **included)
        )
    issuers = registry_proofs(session, engine, lot.program, types=(ISSUER_SET,))
    # An enterprise's key is named by its enrolment (when that names one) or a signer_set.
    signers = issuers + tuple(
        proof
        for owner in owners
        for proof in registry_proofs(session, engine, owner, (ENTERPRISE_REGISTERED, SIGNER_SET))
        if "signer" in proof.event
    )
    return AssetProofBundle.model_validate(
        {
            "claim": claim,
            "domain": {"chainId": domain.chain_id, "verifyingContract": domain.verifying_contract},
            "operations": operations,
            "signers": signers,
        }
    )
