"""What a v2 figure proof shows about each counted terminal (``docs/figure-proof-format.md``
section 4): that it was authorised for every record it signed (check ``authorization``), and
that the period's edges are closed (part of check ``completeness``).

The evidence comes once per device, not once per record: the device's anchored registry events,
and its readings just before and just after the period, or the registry event that proves it
has none there. A figure over a hundred thousand records of one terminal so carries a handful
of events and two extra readings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from verifier.checks.kernel import (
    AnchorClaim,
    check_manifest_counts,
    check_merkle_path,
    check_registry_event,
    check_signature,
    decode_nodes,
    from_hex,
)
from verifier.errors import InvalidRecord, VerificationFailure
from verifier.protocol.events import DEVICE_ENDED, DEVICE_REGISTERED
from verifier.protocol.keccak import keccak256, parse_address, to_checksum_address
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.typed_data import ActivityRecord, Domain, record_digest

if TYPE_CHECKING:
    from verifier.formats.entry import EntryDevice, EntryPeriod
    from verifier.formats.figure import DeviceEvidenceJson, EdgeJson
    from verifier.formats.record import RegistryProofJson

__all__ = ["DeviceAuthority", "check_authorised", "check_device_evidence", "check_edges"]


def _not_authorised(reason: str) -> VerificationFailure:
    return VerificationFailure("authorization", "TerminalNotAuthorised", reason)


def _edge_open(reason: str) -> VerificationFailure:
    return VerificationFailure("completeness", "PeriodEdgeUnproven", reason)


def _same_anchor(anchor: Any, claim: AnchorClaim, domain: Domain) -> bool:
    return anchor.chain_id == domain.chain_id and claim.contract == parse_address(
        domain.verifying_contract
    )


@dataclass(frozen=True)
class DeviceAuthority:
    """One device's anchored registry events, checked: what it may sign, and until when."""

    device: str
    bindings: frozenset[tuple[str, str]]  # (enterprise, source) pairs it was registered for
    ended_block: int | None  # the earliest block a revocation / rotation was anchored in
    first_seq: frozenset[int]  # sequence numbers a registration says it starts at
    last_seq: frozenset[int]  # sequence numbers a revocation / rotation says it ended at
    claims: tuple[AnchorClaim, ...]


def _event_claim(proof: RegistryProofJson, where: str, device: str, domain: Domain) -> AnchorClaim:
    try:
        nodes = decode_nodes(proof.proof, "proof")
        claim = AnchorClaim.of(proof.batch, proof.anchor)
    except (VerificationFailure, ValueError) as exc:
        raise _not_authorised(f"{where}: {getattr(exc, 'reason', exc)}") from None
    check_registry_event(proof, nodes, claim, lambda reason: _not_authorised(where + reason))
    if proof.event.get("subject") != device:
        raise _not_authorised(f"{where}is about {proof.event.get('subject')}, not {device}")
    if not _same_anchor(proof.anchor, claim, domain):
        raise _not_authorised(f"{where}is anchored on another chain or contract")
    return claim


def _ints(events: Sequence[dict[str, Any]], types: tuple[str, ...], name: str) -> frozenset[int]:
    return frozenset(e[name] for e in events if e.get("type") in types and type(e.get(name)) is int)


def _authority(d: int, evidence: DeviceEvidenceJson, domain: Domain) -> DeviceAuthority:
    device = to_checksum_address(parse_address(evidence.device))
    claims = tuple(
        _event_claim(p, f"devices[{d}].registry[{i}]: ", device, domain)
        for i, p in enumerate(evidence.registry)
    )
    events = [p.event for p in evidence.registry]
    bindings = frozenset(
        (e.get("enterprise"), source)
        for e in events
        if e.get("type") == DEVICE_REGISTERED
        for source in e.get("sources", ())
    )
    ended = [
        c.block_number for e, c in zip(events, claims, strict=True) if e.get("type") in DEVICE_ENDED
    ]
    return DeviceAuthority(
        device,
        bindings,  # type: ignore[arg-type]
        min(ended) if ended else None,
        _ints(events, (DEVICE_REGISTERED,), "firstSeq"),
        _ints(events, DEVICE_ENDED, "lastSeq"),
        claims,
    )


def check_device_evidence(
    evidence: Sequence[DeviceEvidenceJson], counted: Mapping[str, EntryDevice], domain: Domain
) -> dict[str, DeviceAuthority]:
    """Each counted device has its evidence once, and no other device has any."""
    authorities: dict[str, DeviceAuthority] = {}
    for d, item in enumerate(evidence):
        authority = _authority(d, item, domain)
        if authority.device in authorities:
            raise _not_authorised(f"devices[{d}]: {authority.device} appears twice")
        authorities[authority.device] = authority
    missing = sorted(set(counted) - set(authorities))
    if missing:
        raise _not_authorised(f"the bundle shows no registry event of device {missing[0]}")
    extra = sorted(set(authorities) - set(counted))
    if extra:
        raise _not_authorised(f"device {extra[0]} has evidence but the entry counts none")
    return authorities


def check_authorised(
    authorities: Mapping[str, DeviceAuthority],
    records: Iterator[tuple[int | str, ActivityRecord, int]],
) -> int:
    """Every record's terminal was registered for its enterprise and source, and not revoked
    or rotated before the record was anchored (the rule of ``carbon-verify record``). Returns
    how many records were checked."""
    checked = 0
    for i, record, block in records:
        where = f"records[{i}]" if isinstance(i, int) else i
        authority = authorities[record.device]
        if (record.enterprise, record.source) not in authority.bindings:
            raise _not_authorised(
                f"{where}: no anchored registration binds {record.device} to "
                f"{record.enterprise} / {record.source}"
            )
        if authority.ended_block is not None and block > authority.ended_block:
            raise _not_authorised(
                f"{where} was anchored in block {block}, after terminal {record.device} "
                f"was revoked or rotated in block {authority.ended_block}"
            )
        checked += 1
    return checked


# --- the period's edges ---------------------------------------------------------------------


def _edge_record(edge: EdgeJson, where: str, domain: Domain) -> tuple[ActivityRecord, bytes]:
    try:
        record = ActivityRecord.from_message(edge.record.message)
        signature = from_hex(edge.record.signature)
    except (InvalidRecord, KeyError, TypeError, ValueError) as exc:
        raise _edge_open(f"{where}not an ActivityRecord message: {exc}") from None
    digest = record_digest(domain, record)
    try:
        check_signature(digest, signature, record.device)
    except VerificationFailure as exc:
        raise _edge_open(where + exc.reason) from None
    return record, leaf_hash(LeafKind.ACTIVITY_RECORD, digest, keccak256(signature))


def _check_edge(
    edge: EdgeJson, where: str, device: str, seq: int, domain: Domain
) -> tuple[ActivityRecord, AnchorClaim]:
    """The edge reading is the device's ``seq``, signed by it and in an anchored batch."""
    record, leaf = _edge_record(edge, where, domain)
    if record.device != device or record.seq != seq:
        raise _edge_open(
            f"{where}is seq {record.seq} of {record.device}, not seq {seq} of {device}"
        )
    try:
        claim = AnchorClaim.of(edge.batch, edge.anchor)
        check_merkle_path(
            leaf, decode_nodes(edge.proof, "proof"), claim.root, edge.batch.leaf_count
        )
        check_manifest_counts(edge.batch, claim.manifest_hash)
    except (VerificationFailure, ValueError) as exc:
        raise _edge_open(f"{where}{getattr(exc, 'reason', exc)}") from None
    if not _same_anchor(edge.anchor, claim, domain):
        raise _edge_open(f"{where}is anchored on another chain or contract")
    return record, claim


def _before(
    item: DeviceEvidenceJson,
    authority: DeviceAuthority,
    stated: EntryDevice,
    period: EntryPeriod,
    domain: Domain,
) -> AnchorClaim | None:
    first, where = stated.first_seq, f"device {authority.device}: the reading before the period "
    if item.before is None:
        if first in authority.first_seq:
            return None
        raise _edge_open(
            f"device {authority.device}: the first reading counted is seq {first}, but the "
            f"bundle shows neither seq {first - 1} nor a registration starting at seq {first}: "
            "earlier readings of the period may have been left out"
        )
    record, claim = _check_edge(item.before, where, authority.device, first - 1, domain)
    if record.period_end > period.start_ts:
        raise _edge_open(
            f"{where}(seq {first - 1}) ends at {record.period_end}, after the period starts at "
            f"{period.start_ts}: it belongs in the period"
        )
    return claim


def _after(
    item: DeviceEvidenceJson,
    authority: DeviceAuthority,
    stated: EntryDevice,
    period: EntryPeriod,
    domain: Domain,
) -> AnchorClaim | None:
    last, where = stated.last_seq, f"device {authority.device}: the reading after the period "
    if item.after is None:
        if last in authority.last_seq:
            return None
        raise _edge_open(
            f"device {authority.device}: the last reading counted is seq {last}, but the bundle "
            f"shows neither seq {last + 1} nor a revocation ending at seq {last}: later "
            "readings of the period may have been left out"
        )
    record, claim = _check_edge(item.after, where, authority.device, last + 1, domain)
    if record.period_start < period.end_ts:
        raise _edge_open(
            f"{where}(seq {last + 1}) starts at {record.period_start}, before the period ends at "
            f"{period.end_ts}: it belongs in the period"
        )
    return claim


def check_edges(
    evidence: Sequence[DeviceEvidenceJson],
    authorities: Mapping[str, DeviceAuthority],
    counted: Mapping[str, EntryDevice],
    period: EntryPeriod,
    domain: Domain,
) -> list[AnchorClaim]:
    """For every counted device, the readings just outside the period on both sides (or the
    registry events proving there are none); returns their anchors for the on-chain checks."""
    claims: list[AnchorClaim] = []
    for item in evidence:
        device = to_checksum_address(parse_address(item.device))
        authority, stated = authorities[device], counted[device]
        for side in (_before, _after):
            claim = side(item, authority, stated, period, domain)
            if claim is not None:
                claims.append(claim)
    return claims
