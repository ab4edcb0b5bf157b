"""Building figure proof bundles: an evaluation entry plus everything behind one figure."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from accounting import load_factor_set
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import ActivityRecordRow, Device, EmissionSource, Evaluation, LeafRow
from ledger_api.evaluations.declarations import inputs_evidence
from ledger_api.evaluations.edges import device_edges, enterprise_registry
from ledger_api.evaluations.period_rating import ruleset_document
from ledger_api.evaluations.supersession import anchored_successor
from ledger_api.ledger.proofs import (
    anchor_location,
    batch_json,
    confirmed_batch,
    inclusion,
    load_tree,
    record_from_row,
    terminal_registry,
)
from verifier.formats.figure import (
    BatchProofJson,
    DeviceEvidenceJson,
    DomainJson,
    EdgeJson,
    EntryProofJson,
    FigureJson,
    FigureProofBundle,
    SignedRecordJson,
    SupersessionEvidenceJson,
)
from verifier.formats.record import LeafJson
from verifier.protocol.entry import figure_value as entry_figure_value
from verifier.protocol.typed_data import Domain


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def figure_value(entry: dict[str, Any], path: str) -> str:
    """The reported value of ``path`` in an entry; 422 when the entry has no such figure."""
    try:
        return entry_figure_value(entry, path)
    except (KeyError, TypeError):
        raise ApiError(
            422, "unknown_figure", f"the evaluation reports no figure {path!r}", "figure"
        ) from None


def _entry_proof(session: Session, engine: Engine, evaluation: Evaluation) -> EntryProofJson:
    leaf = session.scalar(select(LeafRow).where(LeafRow.hash == evaluation.leaf_hash))
    assert leaf is not None
    batch = confirmed_batch(session, leaf.batch_id, f"evaluation {evaluation.identifier}")
    tree = load_tree(engine, batch.id)
    proof = tree.get_proof(tree.find_leaf(bytes.fromhex(leaf.hash[2:])))
    return EntryProofJson(
        leaf=LeafJson(kind=leaf.kind, digest=leaf.digest, aux=leaf.aux, hash=leaf.hash),
        proof=tuple(_hex(p) for p in proof),
        batch=batch_json(batch, json.loads(evaluation.entry)["enterprise"]),
        anchor=anchor_location(batch),
    )


def _superseded_by(
    session: Session, engine: Engine, evaluation: Evaluation
) -> SupersessionEvidenceJson | None:
    """The anchored successor of a superseded evaluation, so its proof says it is superseded;
    None while it is current (or its successor is not anchored yet)."""
    successor = anchored_successor(session, evaluation)
    if successor is None:
        return None
    proof = _entry_proof(session, engine, successor)
    return SupersessionEvidenceJson(
        entry=json.loads(successor.entry),
        leaf=proof.leaf,
        proof=proof.proof,
        batch=proof.batch,
        anchor=proof.anchor,
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
    session: Session, engine: Engine, rows: list[ActivityRecordRow], enterprise: str
) -> list[BatchProofJson]:
    leaves = {
        leaf.hash: leaf
        for leaf in session.scalars(
            select(LeafRow).where(LeafRow.hash.in_([r.leaf_hash for r in rows]))
        )
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
                batch=batch_json(batch, enterprise),
                anchor=anchor_location(batch),
                records=tuple(ordered),
                leaves=tuple(_hex(x) for x in multiproof.leaves),
                proof=tuple(_hex(x) for x in multiproof.proof),
                proofFlags=multiproof.proof_flags,
            )
        )
    return proofs


def _edge(
    session: Session,
    engine: Engine,
    row: ActivityRecordRow | None,
    enterprise: str,
    address: str,
    source: str,
) -> EdgeJson | None:
    if row is None:
        return None
    leaf = session.scalar(select(LeafRow).where(LeafRow.hash == row.leaf_hash))
    assert leaf is not None
    proven = inclusion(session, engine, leaf, f"reading {row.seq} of {address}", enterprise)
    return EdgeJson(
        record=SignedRecordJson(
            message=record_from_row(row, enterprise, source, address).to_message(),
            signature=row.signature,
            attributes=json.loads(row.attributes) if row.attributes else None,
        ),
        proof=proven["proof"],
        batch=proven["batch"],
        anchor=proven["anchor"],
    )


def _device_evidence(
    session: Session, engine: Engine, entry: dict[str, Any]
) -> tuple[DeviceEvidenceJson, ...]:
    """Once per counted device: its registry events and the readings just outside the period
    (a 4xx when one of its edges is open: the bundle could not be verified)."""
    period, evidence = entry["period"], []
    for d in entry["records"]["devices"]:
        edges = device_edges(
            session, d["device"], d["firstSeq"], d["lastSeq"], period["startTs"], period["endTs"]
        )
        neighbours = [
            _edge(session, engine, row, entry["enterprise"], d["device"], _source(session, row))
            for row in (edges.before, edges.after)
        ]
        evidence.append(
            DeviceEvidenceJson(
                device=d["device"],
                registry=terminal_registry(session, engine, d["device"]),
                before=neighbours[0],
                after=neighbours[1],
            )
        )
    return tuple(evidence)


def _source(session: Session, row: ActivityRecordRow | None) -> str:
    source = session.get(EmissionSource, row.source_id) if row is not None else None
    return source.identifier if source is not None else ""


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
        batches=tuple(_batch_proofs(session, engine, rows, entry["enterprise"])),
        factorSet=dict(factor_set.document),
        ruleset=ruleset_document(rating["ruleset"]["id"]) if rating else None,
        devices=_device_evidence(session, engine, entry),
        registry=enterprise_registry(session, engine, entry["enterprise"]),
        inputs=inputs_evidence(session, engine, entry),
        supersededBy=_superseded_by(session, engine, evaluation),
    )
