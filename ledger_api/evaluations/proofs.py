"""Building figure proof bundles: an evaluation entry plus everything behind one figure."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from accounting import load_factor_set
from accounting.figures import figure_at
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import ActivityRecordRow, Device, EmissionSource, Evaluation, Leaf
from ledger_api.evaluations.rating import ruleset_document
from ledger_api.ledger.proofs import (
    anchor_location,
    batch_json,
    confirmed_batch,
    load_tree,
    record_from_row,
)
from verifier.formats.figure import (
    BatchProofJson,
    DomainJson,
    EntryProofJson,
    FigureJson,
    FigureProofBundle,
    SignedRecordJson,
)
from verifier.formats.record import LeafJson
from verifier.protocol.typed_data import Domain

RATING_FIGURES = ("rating.grade", "rating.L", "rating.K")


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def figure_value(entry: dict[str, Any], path: str) -> str:
    """The reported value of ``path`` in an entry; 422 when the entry has no such figure."""
    try:
        if path in RATING_FIGURES:
            value = entry["rating"][path.removeprefix("rating.")]
            return str(value) if path == "rating.grade" else value["reported"]
        return figure_at(entry["accounting"]["figures"]["reported"], path)
    except (KeyError, TypeError):
        raise ApiError(
            422, "unknown_figure", f"the evaluation reports no figure {path!r}", "figure"
        ) from None


def _entry_proof(session: Session, engine: Engine, evaluation: Evaluation) -> EntryProofJson:
    leaf = session.scalar(select(Leaf).where(Leaf.hash == evaluation.leaf_hash))
    assert leaf is not None
    batch = confirmed_batch(session, leaf.batch_id, f"evaluation {evaluation.identifier}")
    tree = load_tree(engine, batch.id)
    proof = tree.get_proof(tree.find_leaf(bytes.fromhex(leaf.hash[2:])))
    return EntryProofJson(
        leaf=LeafJson(kind=leaf.kind, digest=leaf.digest, aux=leaf.aux, hash=leaf.hash),
        proof=tuple(_hex(p) for p in proof),
        batch=batch_json(batch),
        anchor=anchor_location(batch),
    )


def _entry_records(
    session: Session, entry: dict[str, Any]
) -> list[tuple[ActivityRecordRow, str, str]]:
    """Exactly the records the entry counted, each with its source identifier and device
    address, in device/seq order: one query however many records there are."""
    ranges = [
        and_(
            Device.address == d["device"],
            ActivityRecordRow.seq >= d["firstSeq"],
            ActivityRecordRow.seq <= d["lastSeq"],
        )
        for d in entry["records"]["devices"]
    ]
    query = (
        select(ActivityRecordRow, EmissionSource.identifier, Device.address)
        .join(Device, Device.id == ActivityRecordRow.device_id)
        .join(EmissionSource, EmissionSource.id == ActivityRecordRow.source_id)
        .where(or_(*ranges))
        .order_by(Device.address, ActivityRecordRow.seq)
    )
    return [(row, source, device) for row, source, device in session.execute(query)]


def _batch_proofs(
    session: Session, engine: Engine, rows: list[ActivityRecordRow]
) -> list[BatchProofJson]:
    leaves = {
        leaf.hash: leaf
        for leaf in session.scalars(select(Leaf).where(Leaf.hash.in_([r.leaf_hash for r in rows])))
    }
    by_batch: dict[int, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_batch[leaves[row.leaf_hash].batch_id].append(index)  # type: ignore[index]
    proofs = []
    for batch_id, indices in sorted(by_batch.items()):
        batch = confirmed_batch(session, batch_id, f"batch {batch_id}")
        tree = load_tree(engine, batch_id)
        position = {tree.find_leaf(bytes.fromhex(rows[i].leaf_hash[2:])): i for i in indices}
        multiproof = tree.get_multiproof(position)
        ordered = [position[tree.find_leaf(leaf)] for leaf in multiproof.leaves]
        proofs.append(
            BatchProofJson(
                batch=batch_json(batch),
                anchor=anchor_location(batch),
                records=tuple(ordered),
                leaves=tuple(_hex(x) for x in multiproof.leaves),
                proof=tuple(_hex(x) for x in multiproof.proof),
                proofFlags=multiproof.proof_flags,
            )
        )
    return proofs


def figure_proof(
    session: Session, engine: Engine, domain: Domain, identifier: str, path: str
) -> FigureProofBundle:
    """The figure proof bundle of ``path`` in evaluation ``identifier``."""
    evaluation = session.scalar(select(Evaluation).where(Evaluation.identifier == identifier))
    if evaluation is None:
        raise not_found("evaluation", identifier)
    entry = json.loads(evaluation.entry)
    value = figure_value(entry, path)
    entry_proof = _entry_proof(session, engine, evaluation)
    found = _entry_records(session, entry)
    rows = [row for row, _, _ in found]
    records = tuple(
        SignedRecordJson(
            message=record_from_row(r, entry["enterprise"], source, device).to_message(),
            signature=r.signature,
            attributes=json.loads(r.attributes) if r.attributes else None,
        )
        for r, source, device in found
    )
    factor_set = load_factor_set(entry["accounting"]["factorSet"]["id"])
    rating = entry.get("rating") or {}
    return FigureProofBundle(
        figure=FigureJson(path=path, value=value),
        domain=DomainJson(chainId=domain.chain_id, verifyingContract=domain.verifying_contract),
        entry=entry,
        entryProof=entry_proof,
        records=records,
        batches=tuple(_batch_proofs(session, engine, rows)),
        factorSet=dict(factor_set.document),
        ruleset=ruleset_document(rating["ruleset"]["id"]) if rating else None,
    )
