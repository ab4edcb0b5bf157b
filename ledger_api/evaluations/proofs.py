"""Building figure proof bundles: an evaluation entry plus everything behind one figure."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Row, and_, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from accounting import load_factor_set
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import ActivityRecordRow, Device, EmissionSource, Evaluation, LeafRow
from ledger_api.evaluations.declarations import inputs_evidence
from ledger_api.evaluations.edges import device_edges, enterprise_registry
from ledger_api.evaluations.energy import energy_sets
from ledger_api.evaluations.green_certificates import green_certificates_evidence
from ledger_api.evaluations.period_rating import ruleset_document
from ledger_api.evaluations.register_proofs import register_form
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
from verifier.errors import LeafNotFound
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
from verifier.protocol.entry import ENERGY_PREFIXES
from verifier.protocol.entry import figure_value as entry_figure_value
from verifier.protocol.merkle import MerkleTree
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
    session: Session, entry: dict[str, Any], metered: frozenset[str] = frozenset()
) -> list[Row[Any]]:
    """Exactly the records the entry counted, in device/seq order, each row with its
    ``source`` identifier, ``device`` address and leaf's ``batch_id``: one query however many
    records there are, read as plain rows (ORM objects cost more than the query here). The
    devices in ``metered`` are proven by their registers instead (``register_proofs``)."""
    ranges = [
        and_(
            Device.address == d["device"],
            ActivityRecordRow.seq >= d["firstSeq"],
            ActivityRecordRow.seq <= d["lastSeq"],
        )
        for d in entry["records"]["devices"]
        if d["device"] not in metered
    ]
    if not ranges:
        return []
    record = ActivityRecordRow.__table__.c  # type: ignore[attr-defined]
    query = (
        select(
            *_record_columns(record),
            EmissionSource.identifier.label("source"),  # type: ignore[attr-defined]
            Device.address.label("device"),  # type: ignore[attr-defined]
            LeafRow.batch_id,
        )
        .join(Device, Device.id == record.device_id)
        .join(EmissionSource, EmissionSource.id == record.source_id)
        .outerjoin(LeafRow, LeafRow.hash == record.leaf_hash)  # a missing leaf: a 409, below
        .where(or_(*ranges))
        .order_by(Device.address, record.seq)
    )
    return list(session.connection().execute(query))  # Core: no ORM result processing


def _record_columns(c: Any) -> tuple[Any, ...]:
    return (
        c.seq,
        c.activity,
        c.quantity,
        c.decimals,
        c.unit,
        c.period_start,
        c.period_end,
        c.attributes_hash,
        c.attributes,
        c.signature,
        c.leaf_hash,
    )


def _signed_record(row: Row[Any], enterprise: str) -> SignedRecordJson:
    """The record as signed, straight from its columns in ``ActivityRecord.to_message``'s
    form: the row was checked at ingest and the verifier re-checks every field, so the build
    does not re-parse each record it holds (a quarter of a 100,000-record build)."""
    message = {
        "enterprise": enterprise,
        "source": row.source,
        "device": row.device,
        "seq": str(row.seq),
        "activity": row.activity,
        "quantity": row.quantity,
        "decimals": str(row.decimals),
        "unit": row.unit,
        "periodStart": str(row.period_start),
        "periodEnd": str(row.period_end),
        "attributesHash": row.attributes_hash,
    }
    attributes = json.loads(row.attributes) if row.attributes else None
    return SignedRecordJson(message=message, signature=row.signature, attributes=attributes)


def _tree_indices(tree: MerkleTree, leaves: list[bytes]) -> list[int]:
    """The tree index of each leaf hash. Many leaves of one tree: one pass over its leaf
    nodes, rather than a binary search in Python for each (half of a 100,000-record build)."""
    if len(leaves) * 20 < tree.leaf_count:
        return [tree.find_leaf(leaf) for leaf in leaves]
    nodes, first = tree.to_bytes(), tree.leaf_count - 1
    index = {nodes[i * 32 : (i + 1) * 32]: i for i in range(first, tree.node_count)}
    try:
        return [index[leaf] for leaf in leaves]
    except KeyError:
        raise LeafNotFound("leaf hash is not in the tree") from None


def _batch_proofs(
    session: Session, engine: Engine, rows: list[Row[Any]], enterprise: str
) -> list[BatchProofJson]:
    by_batch: dict[int, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row.batch_id is None:  # no anchored leaf behind the record: nothing proves it
            what = f"reading {row.seq} of {row.device} is not anchored yet"
            raise ApiError(409, "not_anchored", f"{what}; retry after anchoring")
        by_batch[row.batch_id].append(index)
    proofs = []
    for batch_id, indices in sorted(by_batch.items()):
        batch = confirmed_batch(session, batch_id, f"batch {batch_id}")
        tree = load_tree(engine, batch_id)
        leaves = [bytes.fromhex(rows[i].leaf_hash[2:]) for i in indices]
        multiproof = tree.get_multiproof(_tree_indices(tree, leaves))
        record_of = dict(zip(leaves, indices, strict=True))
        ordered = [record_of[leaf] for leaf in multiproof.leaves]
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
    session: Session, engine: Engine, entry: dict[str, Any], metered: frozenset[str]
) -> tuple[DeviceEvidenceJson, ...]:
    """Once per counted device: its registry events and the readings just outside the period
    (a 4xx when one of its edges is open: the bundle could not be verified); a device in
    ``metered`` has its evidence in the register form instead."""
    period, evidence = entry["period"], []
    for d in entry["records"]["devices"]:
        if d["device"] in metered:  # its registry events are the enterprise chain's
            continue
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
    session: Session,
    engine: Engine,
    domain: Domain,
    identifier: str,
    path: str,
    form: str = "records",
) -> FigureProofBundle:
    """The figure proof bundle of ``path`` in evaluation ``identifier``; ``form="registers"``
    proves the devices with a cumulative register by their edge readings (section 11)."""
    evaluation = session.scalar(select(Evaluation).where(Evaluation.identifier == identifier))
    if evaluation is None:
        raise not_found("evaluation", identifier)
    entry = json.loads(evaluation.entry)
    value = figure_value(entry, path)
    entry_proof = _entry_proof(session, engine, evaluation)
    registers = register_form(session, engine, entry) if form == "registers" else None
    metered = registers.addresses if registers else frozenset()
    rows = _entry_records(session, entry, metered)
    records = tuple(_signed_record(r, entry["enterprise"]) for r in rows)
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
        devices=_device_evidence(session, engine, entry, metered),
        registry=enterprise_registry(session, engine, entry["enterprise"]),
        inputs=inputs_evidence(session, engine, entry),
        supersededBy=_superseded_by(session, engine, evaluation),
        registers=registers.evidence if registers else None,
        greenCertificates=green_certificates_evidence(session, engine, entry),
        # Only an energy figure's bundle carries the energy sets (verifier.checks.energy)
        energy=energy_sets(entry) if path.startswith(ENERGY_PREFIXES) else None,
    )
