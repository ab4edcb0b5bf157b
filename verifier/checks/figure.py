"""Verifying a figure proof bundle (``docs/figure-proof-format.md``): twelve checks in order.

A figure proof shows that one reported figure of an anchored evaluation entry follows, exactly,
from signed and anchored activity records: the entry is a leaf of an anchored batch, every
record is signed by its device and included in an anchored batch, the records are exactly the
ones the entry counted (none left out, none added), and accounting them with the disclosed
factor set (and grading with the disclosed ruleset) gives the entry's figures digit for digit.

As in :mod:`verifier.checks.record`, each check passes or raises a
:class:`~verifier.errors.VerificationFailure` naming it; the first failure ends the run.
Checks 1–10 read only the bundle (and the published reference data the verifier ships);
checks 11–14 read the chain through the :class:`~verifier.rpc.ChainReader` the caller passes.
A version 1 bundle carries no device evidence: its ``authorization`` check is skipped and its
``completeness`` pass says the period's edges were not proven.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import rfc8785

from accounting import account
from accounting.errors import AccountingError
from accounting.factors import FactorSet, parse_factor_set
from accounting.figures import figures
from accounting.from_records import RecordQuantity, inventory_from_records
from accounting.grading import (
    PEERS_DEFINITION,
    POPULATION_DEFINITION,
    IndustryAverage,
    PopulationBasis,
    Ruleset,
    grade,
    industry_average_from_population,
    parse_ruleset,
)
from accounting.result import Result
from verifier.checks.devices import (
    DeviceAuthority,
    check_authorised,
    check_device_evidence,
    check_edges,
)
from verifier.checks.energy import EnergySets, check_energy_figures, check_energy_sets
from verifier.checks.grid_choice import check_grid_choice
from verifier.checks.inputs import PEER_AVERAGE_NOTE, run_input_checks, stated_peer_average
from verifier.checks.kernel import (
    ONCHAIN_CHECKS,
    ZERO,
    AnchorClaim,
    CheckStatus,
    Progress,
    VerificationResult,
    check_attributes,
    check_format,
    check_manifest_counts,
    check_merkle_path,
    check_signature,
    decode_nodes,
    manifest_view,
    prefixed,
    read_bundle,
    run_checks,
    run_onchain,
    skip_onchain,
    validate_model,
)
from verifier.checks.publication import run_publication_check
from verifier.checks.recovery import recover_addresses
from verifier.checks.registers import RegisterProof, check_register_count, read_registers
from verifier.checks.registry import REGISTRY_CHECKS, run_registry_checks
from verifier.checks.scope2 import graded_emissions, run_scope2_check
from verifier.checks.supersession import run_supersession_check
from verifier.errors import InvalidRecord, MerkleError, VerificationFailure
from verifier.formats.entry import EntryDevice, EvaluationEntry
from verifier.formats.figure import (
    FIGURE_PROOF_FORMAT,
    FIGURE_PROOF_VERSION,
    BatchProofJson,
    FigureProofBundle,
    SignedRecordJson,
)
from verifier.protocol.entry import ENTRY_FORMAT, figure_value, period_bounds
from verifier.protocol.keccak import keccak256, parse_address, to_checksum_address
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.merkle import process_multiproof
from verifier.protocol.typed_data import ActivityRecord, Domain, record_digest

if TYPE_CHECKING:
    from verifier.rpc import ChainReader
    from verifier.trust import ReferenceRoot, TrustRoot

__all__ = ["FIGURE_CHECKS", "parse_figure_bundle", "verify_figure"]

FIGURE_CHECKS: tuple[str, ...] = (
    "bundle",
    "entry-leaf",
    "period",
    "records",
    "record-inclusion",
    "authorization",
    *REGISTRY_CHECKS,
    "completeness",
    "factor-set",
    "figures",
    "scope2",
    "rating",
    "inputs",
    "supersession",
    "publication",
    *ONCHAIN_CHECKS,
)

_VERSIONS = (1, 2, FIGURE_PROOF_VERSION)
_V1_AUTHORIZATION = (
    "a v1 bundle does not show its terminals' registrations: records of an unregistered or "
    "revoked key are not ruled out"
)
_ENTRY_KIND = str(int(LeafKind.LEDGER_ENTRY))
_RECORD_KIND = str(int(LeafKind.ACTIVITY_RECORD))
# What a malformed number or document in the bundle may raise while it is recomputed.
_BAD_INPUT = (AccountingError, KeyError, TypeError, ValueError, ArithmeticError)


# --- check 1: the bundle as bytes -----------------------------------------------------------


@dataclass(frozen=True)
class _BatchWire:
    claim: AnchorClaim
    leaves: tuple[bytes, ...]
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class _Wire:
    """The bundle decoded once: the entry read, hex decoded, devices in EIP-55 case."""

    entry: EvaluationEntry
    domain: Domain
    entry_proof: tuple[bytes, ...]
    entry_claim: AnchorClaim
    batches: tuple[_BatchWire, ...]
    signatures: tuple[bytes, ...]
    devices: Mapping[str, EntryDevice]


def parse_figure_bundle(data: Any) -> FigureProofBundle:
    """Check 1 on decoded JSON: a ``carbon-ledger/figure-proof`` v1 or v2 document of the right
    shape. Raises a ``bundle`` failure (BundleInvalid) with the first problem found."""
    return read_bundle(data, FIGURE_PROOF_FORMAT, FigureProofBundle, _VERSIONS)


def _batch_wire(b: int, batch: BatchProofJson) -> _BatchWire:
    return _BatchWire(
        claim=AnchorClaim.of(batch.batch, batch.anchor),
        leaves=decode_nodes(batch.leaves, f"batches[{b}].leaves"),
        proof=decode_nodes(batch.proof, f"batches[{b}].proof"),
    )


def _check_bundle(bundle: FigureProofBundle) -> _Wire:
    check_format(bundle, FIGURE_PROOF_FORMAT, _VERSIONS)
    if (bundle.version >= 2) != bool(bundle.devices or bundle.registers):
        raise VerificationFailure(
            "bundle",
            "BundleInvalid",
            "a v2 bundle needs its devices' evidence, a v1 bundle has none",
        )
    stated = bundle.entry.get("format"), bundle.entry.get("version")
    if stated != (ENTRY_FORMAT, 1):
        raise VerificationFailure(
            "bundle",
            "BundleInvalid",
            f"entry is {stated[0]!r} v{stated[1]!r}, not {ENTRY_FORMAT} v1",
        )
    entry = validate_model(EvaluationEntry, bundle.entry, "entry")
    try:
        devices = {to_checksum_address(parse_address(d.device)): d for d in entry.records.devices}
        return _Wire(
            entry=entry,
            domain=Domain(bundle.domain.chain_id, bundle.domain.verifying_contract),
            entry_proof=decode_nodes(bundle.entry_proof.proof, "entryProof.proof"),
            entry_claim=AnchorClaim.of(bundle.entry_proof.batch, bundle.entry_proof.anchor),
            batches=tuple(_batch_wire(b, batch) for b, batch in enumerate(bundle.batches)),
            signatures=tuple(bytes.fromhex(r.signature[2:]) for r in bundle.records),
            devices=devices,
        )
    except ValueError as exc:  # also InvalidRecord from Domain
        raise VerificationFailure("bundle", "BundleInvalid", str(exc)) from None


# --- check 2: the entry is an anchored ledger leaf ------------------------------------------


def _check_entry_leaf(bundle: FigureProofBundle, wire: _Wire) -> str:
    try:
        digest = keccak256(rfc8785.dumps(bundle.entry))
    except rfc8785.CanonicalizationError as exc:
        raise VerificationFailure(
            "entry-leaf", "EntryLeafMismatch", f"the entry has no canonical JSON: {exc}"
        ) from None
    hashed = leaf_hash(LeafKind.LEDGER_ENTRY, digest, ZERO)
    stated = bundle.entry_proof.leaf
    for name, value in (
        ("kind", int(LeafKind.LEDGER_ENTRY)),
        ("digest", "0x" + digest.hex()),
        ("aux", "0x" + ZERO.hex()),
        ("hash", "0x" + hashed.hex()),
    ):
        if getattr(stated, name) != value:
            raise VerificationFailure(
                "entry-leaf",
                "EntryLeafMismatch",
                f"entry leaf {name} is {getattr(stated, name)}, not {value}",
            )
    batch, claim = bundle.entry_proof.batch, wire.entry_claim
    with prefixed("entry: ", "entry-leaf", "EntryPathInvalid"):
        check_merkle_path(hashed, wire.entry_proof, claim.root, batch.leaf_count)
    with prefixed("entry batch: ", "entry-leaf", "EntryManifestMismatch"):
        manifest = check_manifest_counts(batch, claim.manifest_hash)
    if not manifest.covers(wire.entry.enterprise) or manifest.kinds.get(_ENTRY_KIND, 0) < 1:
        raise VerificationFailure(
            "entry-leaf",
            "EntryManifestMismatch",
            f"the entry batch's manifest counts no ledger entry of {wire.entry.enterprise}",
        )
    return f"entry {wire.entry.identifier} is leaf {stated.hash} under root {batch.root}"


# --- check 3: the period's timestamps are its dates' -----------------------------------------


def _check_period(entry: EvaluationEntry) -> str:
    """``startTs`` / ``endTs`` decide which records are counted, and the dates are what a reader
    sees: an entry whose dates say two days but whose timestamps cover one would count a day's
    records under a two-day heading. So the timestamps are recomputed, never read."""
    period = entry.period
    try:
        expected = period_bounds(period.start, period.end, period.utc_offset_hours)
    except (OverflowError, ValueError) as exc:
        raise VerificationFailure(
            "period",
            "PeriodMismatch",
            f"the period {period.start}..{period.end} at UTC"
            f"{period.utc_offset_hours:+d} has no timestamps: {exc}",
        ) from None
    if period.end < period.start or (period.start_ts, period.end_ts) != expected:
        raise VerificationFailure(
            "period",
            "PeriodMismatch",
            f"the entry's dates {period.start}..{period.end} (UTC{period.utc_offset_hours:+d}) "
            f"run from {expected[0]} to {expected[1]}, but its timestamps count records from "
            f"{period.start_ts} to {period.end_ts}",
        )
    return (
        f"{period.start}..{period.end} at UTC{period.utc_offset_hours:+d} is "
        f"{period.start_ts}..{period.end_ts}"
    )


# --- check 4: every record signed, for this entry -------------------------------------------


@dataclass(frozen=True)
class _Checked:
    """A record whose signature and attributes were checked, with what was recomputed."""

    record: ActivityRecord
    digest: bytes
    leaf: bytes


def _check_domain(bundle: FigureProofBundle, wire: _Wire) -> None:
    contract = parse_address(wire.domain.verifying_contract)
    anchors = [("entryProof", bundle.entry_proof.anchor, wire.entry_claim)]
    anchors += [(f"batches[{b}]", x.anchor, w.claim) for b, (x, w) in _batches(bundle, wire)]
    for where, anchor, claim in anchors:
        if anchor.chain_id != wire.domain.chain_id or claim.contract != contract:
            raise VerificationFailure(
                "records",
                "RecordDomainMismatch",
                f"records are signed for chain {wire.domain.chain_id} contract "
                f"{wire.domain.verifying_contract}; {where} is anchored on chain "
                f"{anchor.chain_id} in {anchor.contract}",
            )


@lru_cache(maxsize=1024)
def _address(text: str) -> bytes:
    return parse_address(text)


# A record parsed from its message, with its EIP-712 digest; or why it did not parse.
_Parsed = tuple[ActivityRecord, bytes] | Exception


def _parse(message: Mapping[str, Any], domain: Domain) -> _Parsed:
    try:
        record = ActivityRecord.from_message(message)
    except (InvalidRecord, KeyError, TypeError, ValueError) as exc:
        return exc
    return record, record_digest(domain, record)


def _signed_by(signer: bytes | None, device: str) -> bool:
    """True if the recovered ``signer`` is ``device``; False leaves the verdict, and the
    failure's name, to :func:`check_signature`. A figure proof carries one signature per
    record, so addresses are compared as bytes, without checksumming."""
    try:
        return signer is not None and signer == _address(device)
    except ValueError:
        return False


def _check_record(
    i: int,
    signed: SignedRecordJson,
    signature: bytes,
    parsed: _Parsed,
    signer: bytes | None,
    entry: EvaluationEntry,
) -> _Checked:
    where = f"records[{i}]: "
    if isinstance(parsed, Exception):
        raise VerificationFailure(
            "records", "RecordInvalid", f"{where}not an ActivityRecord message: {parsed}"
        )
    record, digest = parsed
    try:  # not prefixed(): this runs once per record, and a plain try costs nothing
        if not _signed_by(signer, record.device):
            check_signature(digest, signature, record.device)
        status, _ = check_attributes(signed.attributes, record)
    except VerificationFailure as exc:
        # At record level the shared checks' failures are the "records" check's, "Record"-named.
        raise VerificationFailure("records", "Record" + exc.code, where + exc.reason) from None
    if status is CheckStatus.SKIPPED:
        raise VerificationFailure(
            "records",
            "RecordAttributesMismatch",
            f"{where}attributes not disclosed; the figure needs them",
        )
    if record.enterprise != entry.enterprise:
        raise VerificationFailure(
            "records",
            "RecordOutsideEntry",
            f"{where}a record of {record.enterprise}, not {entry.enterprise}",
        )
    period = entry.period
    if not period.start_ts <= record.period_start <= record.period_end <= period.end_ts:
        raise VerificationFailure(
            "records",
            "RecordOutsideEntry",
            f"{where}measured {record.period_start}..{record.period_end}, outside the entry's "
            f"period {period.start_ts}..{period.end_ts}",
        )
    return _Checked(
        record, digest, leaf_hash(LeafKind.ACTIVITY_RECORD, digest, keccak256(signature))
    )


def _check_records(bundle: FigureProofBundle, wire: _Wire) -> tuple[_Checked, ...]:
    _check_domain(bundle, wire)
    if not bundle.records and bundle.registers is None:
        raise VerificationFailure("completeness", "IncompleteRecords", "the bundle holds no record")
    parsed: list[_Parsed] = []

    def pairs() -> Iterator[tuple[bytes, bytes] | None]:
        # Parsed as the recovery asks for them: digests go to the workers while later
        # records parse. Failures are still raised below, record by record, in order.
        for signed, signature in zip(bundle.records, wire.signatures, strict=True):
            parsed.append(one := _parse(signed.message, wire.domain))
            yield None if isinstance(one, Exception) else (one[1], signature)

    signers = recover_addresses(pairs())
    return tuple(
        _check_record(i, signed, signature, parsed[i], signers[i], wire.entry)
        for i, (signed, signature) in enumerate(zip(bundle.records, wire.signatures, strict=True))
    )


# --- check 4: every record in an anchored batch ---------------------------------------------


def _batches(
    bundle: FigureProofBundle, wire: _Wire
) -> Iterator[tuple[int, tuple[BatchProofJson, _BatchWire]]]:
    return enumerate(zip(bundle.batches, wire.batches, strict=True))


def _check_assignment(bundle: FigureProofBundle) -> None:
    """Every record index appears in exactly one batch entry."""
    home: list[int | None] = [None] * len(bundle.records)
    for b, batch in enumerate(bundle.batches):
        for index in batch.records:
            if not 0 <= index < len(home):
                raise VerificationFailure(
                    "record-inclusion",
                    "RecordNotIncluded",
                    f"batches[{b}] names records[{index}], which is absent",
                )
            if home[index] is not None:
                raise VerificationFailure(
                    "record-inclusion",
                    "RecordNotIncluded",
                    f"records[{index}] is in batches[{home[index]}] and [{b}]",
                )
            home[index] = b
    missing = next((i for i, b in enumerate(home) if b is None), None)
    if missing is not None:
        raise VerificationFailure(
            "record-inclusion",
            "RecordNotIncluded",
            f"records[{missing}] is in no batch of the bundle",
        )


def _check_batch(
    b: int,
    batch: BatchProofJson,
    wire: _BatchWire,
    checked: tuple[_Checked, ...],
    enterprise: str,
) -> None:
    if len(wire.leaves) != len(batch.records):
        raise VerificationFailure(
            "record-inclusion",
            "RecordLeafMismatch",
            f"batches[{b}] has {len(wire.leaves)} leaves for {len(batch.records)} records",
        )
    for k, index in enumerate(batch.records):
        if wire.leaves[k] != checked[index].leaf:
            raise VerificationFailure(
                "record-inclusion",
                "RecordLeafMismatch",
                f"batches[{b}].leaves[{k}] is not the leaf of records[{index}]",
            )
    try:
        root = process_multiproof(wire.leaves, wire.proof, batch.proof_flags)
    except MerkleError as exc:
        raise VerificationFailure(
            "record-inclusion", "MultiproofInvalid", f"batches[{b}]: {exc}"
        ) from None
    if root != wire.claim.root:
        raise VerificationFailure(
            "record-inclusion",
            "MultiproofInvalid",
            f"batches[{b}]: the multiproof folds to 0x{root.hex()}, not to root {batch.batch.root}",
        )
    with prefixed(f"batches[{b}]: ", "record-inclusion", "BatchManifestMismatch"):
        manifest = check_manifest_counts(batch.batch, wire.claim.manifest_hash)
    # A v2 section counts one enterprise's records: it must be the entry's, whose records
    # these are (the records check saw to that).
    if not manifest.covers(enterprise) or manifest.kinds.get(_RECORD_KIND, 0) < len(batch.records):
        raise VerificationFailure(
            "record-inclusion",
            "BatchManifestMismatch",
            f"batches[{b}]: the manifest counts fewer records of {enterprise}",
        )


def _check_inclusion(bundle: FigureProofBundle, wire: _Wire, checked: tuple[_Checked, ...]) -> str:
    _check_assignment(bundle)
    for b, (batch, batch_wire) in _batches(bundle, wire):
        _check_batch(b, batch, batch_wire, checked, wire.entry.enterprise)
    return f"{len(checked)} records in {len(bundle.batches)} anchored batches"


# --- check 6: every terminal authorised -------------------------------------------------------


def _anchored_records(
    bundle: FigureProofBundle, wire: _Wire, checked: tuple[_Checked, ...]
) -> Iterator[tuple[int, ActivityRecord, int]]:
    """Each record with the block its batch was anchored in."""
    for batch, batch_wire in zip(bundle.batches, wire.batches, strict=True):
        for index in batch.records:
            yield index, checked[index].record, batch_wire.claim.block_number


def _check_authorization(
    bundle: FigureProofBundle,
    wire: _Wire,
    checked: tuple[_Checked, ...],
    meters: RegisterProof | None = None,
) -> dict[str, DeviceAuthority]:
    evidence = bundle.devices + (meters.device_evidence(bundle.registry) if meters else ())
    authorities = check_device_evidence(evidence, wire.devices, wire.domain)
    check_authorised(authorities, _anchored_records(bundle, wire, checked))
    return authorities


# --- check 7: exactly the entry's records ---------------------------------------------------


def _check_digests(entry: EvaluationEntry, checked: tuple[_Checked, ...]) -> None:
    digests = sorted(c.digest for c in checked)
    twice = next((a for a, b in itertools.pairwise(digests) if a == b), None)
    if twice is not None:
        raise VerificationFailure(
            "completeness", "IncompleteRecords", f"record 0x{twice.hex()} appears twice"
        )
    if len(digests) != entry.records.count:
        raise VerificationFailure(
            "completeness",
            "IncompleteRecords",
            f"{len(digests)} records given, the entry counts {entry.records.count}",
        )
    computed = "0x" + keccak256(b"".join(digests)).hex()
    if computed != entry.records.digests_hash:
        raise VerificationFailure(
            "completeness",
            "IncompleteRecords",
            f"the record digests hash to {computed}, the entry states {entry.records.digests_hash}",
        )


def _seqs_by_device(checked: tuple[_Checked, ...]) -> dict[str, list[ActivityRecord]]:
    by_device: dict[str, list[ActivityRecord]] = defaultdict(list)
    for c in checked:
        by_device[c.record.device].append(c.record)
    for records in by_device.values():
        records.sort(key=lambda r: r.seq)
    return by_device


def _check_device(device: str, stated: EntryDevice, records: list[ActivityRecord]) -> None:
    first, last = stated.first_seq, stated.last_seq
    if stated.count != last - first + 1:
        raise VerificationFailure(
            "completeness",
            "IncompleteRecords",
            f"the entry counts {stated.count} records of {device} in seq {first}..{last}: a gap",
        )
    seqs = [r.seq for r in records]
    if seqs != list(range(first, last + 1)):
        gap = next(
            (s for s, want in zip(seqs, range(first, last + 1), strict=False) if s != want), None
        )
        raise VerificationFailure(
            "completeness",
            "IncompleteRecords",
            f"device {device}: records are seq {seqs[0]}..{seqs[-1]} "
            f"({len(seqs)}), the entry counts {first}..{last}"
            + (f"; seq {gap} is out of place" if gap is not None else ""),
        )
    if records[0].source != stated.source:
        raise VerificationFailure(
            "completeness",
            "IncompleteRecords",
            f"device {device} measured {records[0].source}, the entry states {stated.source}",
        )


def _check_devices(wire: _Wire, by_device: dict[str, list[ActivityRecord]]) -> None:
    extra = sorted(set(by_device) - set(wire.devices))
    if extra:
        raise VerificationFailure(
            "completeness",
            "IncompleteRecords",
            f"device {extra[0]} has records but the entry counts none",
        )
    for device, stated in sorted(wire.devices.items()):
        records = by_device.get(device)
        if not records:
            raise VerificationFailure(
                "completeness",
                "IncompleteRecords",
                f"the entry counts device {device}, the bundle has none",
            )
        _check_device(device, stated, records)


def _check_boundary(
    entry: EvaluationEntry, checked: tuple[_Checked, ...], metered: frozenset[str] = frozenset()
) -> None:
    covered = {c.record.source for c in checked} | metered
    boundary = set(entry.boundary.sources)
    missing = sorted(boundary - covered)
    if missing:
        raise VerificationFailure(
            "completeness", "SourceNotCovered", f"boundary source {missing[0]} has no record"
        )
    outside = sorted(covered - boundary)
    if outside:
        raise VerificationFailure(
            "completeness",
            "SourceOutsideBoundary",
            f"source {outside[0]} is not in the entry's boundary",
        )


def _check_batch_counts(
    b: int, batch: BatchProofJson, wire: _Wire, checked: tuple[_Checked, ...]
) -> None:
    """Per device: the given records lie in the manifest's range, and where that range lies
    wholly inside the entry's, the batch holds no record of it that the bundle leaves out."""
    given: dict[str, list[int]] = defaultdict(list)
    for index in batch.records:
        given[checked[index].record.device].append(checked[index].record.seq)
    held_devices = manifest_view(batch.batch).devices
    ranges = {to_checksum_address(parse_address(d.device)): d for d in held_devices}
    for device, seqs in sorted(given.items()):
        held = ranges.get(device)
        if held is None or not held.first_seq <= min(seqs) <= max(seqs) <= held.last_seq:
            raise VerificationFailure(
                "completeness",
                "BatchIncomplete",
                f"batches[{b}]: the manifest does not hold the records of {device} given for it",
            )
    for device, held in sorted(ranges.items()):
        stated = wire.devices.get(device)
        inside = stated and stated.first_seq <= held.first_seq <= held.last_seq <= stated.last_seq
        if inside and len(given.get(device, ())) != held.count:
            raise VerificationFailure(
                "completeness",
                "BatchIncomplete",
                f"batches[{b}] holds {held.count} records of {device} in the entry's range, "
                f"the bundle gives {len(given.get(device, ()))}",
            )


def _check_completeness(
    bundle: FigureProofBundle,
    wire: _Wire,
    checked: tuple[_Checked, ...],
    authorities: dict[str, DeviceAuthority] | None,
    meters: RegisterProof | None = None,
) -> tuple[str, list[AnchorClaim]]:
    # Register devices (section 11) are checked by their readings, the rest record by record.
    metered = meters.addresses if meters else frozenset()
    counted = {k: v for k, v in wire.devices.items() if k not in metered}
    if meters is None:
        _check_digests(wire.entry, checked)
    else:
        check_register_count(wire.entry, len(checked), counted)
    records_wire = replace(wire, devices=counted)
    _check_devices(records_wire, _seqs_by_device(checked))
    _check_boundary(wire.entry, checked, meters.sources() if meters else frozenset())
    for b, batch in enumerate(bundle.batches):
        _check_batch_counts(b, batch, records_wire, checked)
    detail = (
        f"{len(checked)} records, {len(wire.devices)} devices contiguous, "
        f"{len(wire.entry.boundary.sources)} sources covered"
    )
    if authorities is None:
        return detail + "; a v1 bundle does not prove the period's edges", []
    shown = [d for d in bundle.devices if to_checksum_address(parse_address(d.device)) in counted]
    edges = check_edges(shown, authorities, counted, wire.entry.period, wire.domain)
    return detail + ", both edges of the period closed for every device", edges


# --- checks 6–8: the figures recomputed -----------------------------------------------------


def _unpublished(
    check: str, code: str, kind: str, summary: Mapping[str, str], published: str | None
) -> None:
    if published == summary["digest"]:
        return
    known = f"the published one has digest {published}" if published else "none is published"
    raise VerificationFailure(
        check,
        code,
        f"the figure was computed with a {kind} that is not the published one: "
        f"{summary['id']} {summary['version']} has digest {summary['digest']}, {known}",
    )


def _check_factor_set(
    bundle: FigureProofBundle, entry: EvaluationEntry, reference: ReferenceRoot
) -> FactorSet:
    try:
        factor_set = parse_factor_set(dict(bundle.factor_set))
    except _BAD_INPUT as exc:
        raise VerificationFailure(
            "factor-set", "FactorSetMismatch", f"not a factor set document: {exc}"
        ) from None
    stated = entry.accounting.factor_set
    for name in ("digest", "id", "version"):
        if getattr(factor_set, name) != getattr(stated, name):
            raise VerificationFailure(
                "factor-set",
                "FactorSetMismatch",
                f"factor set {name} is {getattr(factor_set, name)}, the "
                f"entry states {getattr(stated, name)}",
            )
    published = reference.factor_sets.get((factor_set.id, factor_set.version))
    _unpublished(
        "factor-set", "FactorSetUnpublished", "factor set", factor_set.summary(), published
    )
    return factor_set


def _first_difference(computed: Any, stated: Any, path: str = "") -> str:
    if isinstance(computed, dict) and isinstance(stated, dict):
        for key in sorted(set(computed) | set(stated)):
            if computed.get(key) != stated.get(key):
                return _first_difference(computed.get(key), stated.get(key), f"{path}.{key}")
    return f"{path.lstrip('.') or 'value'}: recomputed {computed!r}, stated {stated!r}"


def _recompute_figures(
    bundle: FigureProofBundle,
    entry: EvaluationEntry,
    checked: tuple[_Checked, ...],
    factor_set: FactorSet,
    metered: list[RecordQuantity],
) -> Result:
    quantities = [
        RecordQuantity(r.activity, r.source, r.quantity, r.decimals, r.unit, signed.attributes)
        for r, signed in ((c.record, s) for c, s in zip(checked, bundle.records, strict=True))
    ] + metered
    period, accounting = entry.period, entry.accounting
    try:
        inventory = inventory_from_records(
            entry.enterprise,
            entry.industry,
            period.start,
            period.end,
            quantities,
            factor_choices=accounting.factor_choices,
        )
        return account(inventory, factor_set, accounting.gwp)
    except _BAD_INPUT as exc:
        raise VerificationFailure(
            "figures", "FigureMismatch", f"the records cannot be accounted: {exc}"
        ) from None


def _check_figures(
    bundle: FigureProofBundle,
    wire: _Wire,
    checked: tuple[_Checked, ...],
    factor_set: FactorSet,
    metered: list[RecordQuantity] | None = None,
    energy_sets: EnergySets | None = None,
) -> str:
    grid = check_grid_choice(wire.entry, factor_set)
    result = _recompute_figures(bundle, wire.entry, checked, factor_set, metered or [])
    computed = figures(result)
    if computed != wire.entry.accounting.figures:
        difference = _first_difference(computed, wire.entry.accounting.figures)
        raise VerificationFailure("figures", "FigureMismatch", f"figures differ at {difference}")
    energy = check_energy_figures(bundle, wire.entry, result, energy_sets)
    path = bundle.figure.path
    try:
        value = figure_value(bundle.entry, path)
    except (KeyError, TypeError):
        raise VerificationFailure(
            "figures", "FigureMismatch", f"the entry reports no figure {path!r}"
        ) from None
    if value != bundle.figure.value:
        raise VerificationFailure(
            "figures",
            "FigureMismatch",
            f"{path} is {value} in the entry, the bundle claims {bundle.figure.value}",
        )
    done = f"{path} = {value}, figures recomputed exactly from {len(checked)} records"
    return "; ".join(part for part in (done, energy, grid) if part)


def _check_ruleset(
    bundle: FigureProofBundle, rating: dict[str, Any], reference: ReferenceRoot
) -> Ruleset:
    if bundle.ruleset is None:
        raise VerificationFailure(
            "rating", "RulesetMismatch", "the entry is rated but the bundle carries no ruleset"
        )
    try:
        ruleset = parse_ruleset(dict(bundle.ruleset))
    except _BAD_INPUT as exc:
        raise VerificationFailure(
            "rating", "RulesetMismatch", f"not a ruleset document: {exc}"
        ) from None
    stated = rating.get("ruleset")
    if ruleset.summary() != stated:
        raise VerificationFailure(
            "rating",
            "RulesetMismatch",
            f"the ruleset is {ruleset.summary()}, the entry states {stated}",
        )
    published = reference.rulesets.get((ruleset.id, ruleset.version))
    _unpublished("rating", "RulesetUnpublished", "ruleset", ruleset.summary(), published)
    return ruleset


def _population_average(
    entry: EvaluationEntry, stated: dict[str, Any], own: tuple[Decimal, Decimal]
) -> IndustryAverage:
    """The recorded population average, rebuilt from its basis. The members are not in the
    bundle, so the basis digest is recomputed only for a population of one (this firm)."""
    year, basis = entry.period.start.year, stated["population"]
    if basis.get("definition") == PEERS_DEFINITION:
        return stated_peer_average(entry, stated)
    if basis["definition"] != POPULATION_DEFINITION:
        raise VerificationFailure(
            "rating", "GradeMismatch", f"unknown population definition {basis['definition']!r}"
        )
    count = basis["count"]
    totals = Decimal(basis["total_emissions_t"]), Decimal(basis["total_added_value_wan_yuan"])
    if not isinstance(count, int) or count < 1 or totals[0] < own[0] or totals[1] < own[1]:
        raise VerificationFailure(
            "rating", "GradeMismatch", "the population basis does not include this enterprise"
        )
    if count == 1:
        return industry_average_from_population(entry.industry, year, [own])
    population = PopulationBasis(count, *totals, POPULATION_DEFINITION, basis["digest"])
    return IndustryAverage(entry.industry, year, "population", *totals, population=population)


def _regrade(entry: EvaluationEntry, rating: dict[str, Any], ruleset: Ruleset) -> dict[str, Any]:
    try:
        emissions = graded_emissions(entry)
        added_value = Decimal(rating["added_value_wan_yuan"])
        product = rating.get("product")
        output = Decimal(product["output_t"]) if product else None
        stated = rating["industry_average"]
        average = (
            _population_average(entry, stated, (emissions, added_value))
            if stated.get("origin") == "population"
            else None
        )
        year = entry.period.start.year
        recomputed = grade(
            emissions,
            added_value,
            entry.industry,
            year,
            ruleset,
            industry_average=average,
            product_output_t=output,
        )
    except _BAD_INPUT as exc:
        raise VerificationFailure(
            "rating", "GradeMismatch", f"the rating cannot be recomputed: {exc}"
        ) from None
    return recomputed.to_dict()


def _check_rating(
    bundle: FigureProofBundle, entry: EvaluationEntry, reference: ReferenceRoot
) -> str | None:
    rating = entry.rating
    if rating is None:
        return None
    ruleset = _check_ruleset(bundle, rating, reference)
    recomputed = _regrade(entry, rating, ruleset)
    if recomputed != rating:
        raise VerificationFailure(
            "rating", "GradeMismatch", f"rating differs at {_first_difference(recomputed, rating)}"
        )
    average = rating["industry_average"]
    detail = f"grade {rating['grade']} recomputed with {ruleset.id}, {average['origin']} average"
    if (average.get("population") or {}).get("definition") == PEERS_DEFINITION:
        detail += f"; {PEER_AVERAGE_NOTE}"
    return detail


# --- the run --------------------------------------------------------------------------------


def _run_offline(
    bundle: FigureProofBundle, reference: ReferenceRoot, p: Progress, published: bool = False
) -> tuple[_Wire, list[AnchorClaim]]:
    """Checks 1–10; returns the decoded bundle and the anchors of its device evidence."""
    wire = _check_bundle(bundle)
    p.add("bundle", f"{bundle.format} v{bundle.version}, figure {bundle.figure.path}")
    p.add("entry-leaf", _check_entry_leaf(bundle, wire))
    p.add("period", _check_period(wire.entry))
    checked = _check_records(bundle, wire)
    meters = read_registers(bundle, wire.domain, wire.entry)
    signed = f"{len(checked)} records signed by their devices, for this entry"
    p.add("records", signed + (meters.describe() if meters else ""))
    included = _check_inclusion(bundle, wire, checked)
    if meters:
        included += "; " + meters.check_inclusion(wire.entry.enterprise)
    p.add("record-inclusion", included)
    authorities = None
    if bundle.version == 1:
        p.add("authorization", _V1_AUTHORIZATION, CheckStatus.SKIPPED)
    else:
        authorities = _check_authorization(bundle, wire, checked, meters)
        if meters:
            check_authorised(authorities, meters.anchored())
        p.add(
            "authorization",
            f"{len(checked)} records by {len(authorities)} terminals "
            "registered for their sources, none revoked before its record was anchored",
        )
    registry_claims = run_registry_checks(bundle, wire.entry, wire.domain, p)
    detail, edge_claims = _check_completeness(bundle, wire, checked, authorities, meters)
    metered = meters.quantities(wire.devices, authorities or {}, wire.entry) if meters else []
    p.add("completeness", detail)
    factor_set = _check_factor_set(bundle, wire.entry, reference)
    energy_sets = check_energy_sets(bundle, wire.entry, reference)
    sets = f"{factor_set.id} {factor_set.version} {factor_set.digest}, published"
    if energy_sets is not None:
        sets += f"; energy sets {energy_sets.coefficients.id}, {energy_sets.levels.id} published"
    p.add("factor-set", sets)
    p.add("figures", _check_figures(bundle, wire, checked, factor_set, metered, energy_sets))
    records = [c.record for c in checked]
    scope2 = run_scope2_check(bundle, wire.entry, wire.domain, records, metered, factor_set, p)
    rating = _check_rating(bundle, wire.entry, reference)
    if rating is None:
        p.add("rating", "the entry carries no rating", CheckStatus.SKIPPED)
    else:
        p.add("rating", rating)
    input_claims = run_input_checks(bundle, wire.entry, wire.domain, p)
    successor_claims = run_supersession_check(bundle, wire.entry, wire.domain, p)
    successor_claims += run_publication_check(bundle, wire.entry, wire.domain, published, p)
    events = [c for a in (authorities or {}).values() for c in a.claims]
    events += meters.claims if meters else ()
    claims = registry_claims + scope2 + input_claims + successor_claims
    return wire, events + edge_claims + claims


def _run(
    bundle: FigureProofBundle,
    rpc: ChainReader | None,
    trust: TrustRoot | None,
    reference: ReferenceRoot | None,
    p: Progress,
    published: bool = False,
) -> None:
    from verifier.trust import load_default_reference  # reads a file: only when verifying

    wire, evidence = _run_offline(bundle, reference or load_default_reference(), p, published)
    if rpc is None:
        skip_onchain(p)
        return
    # Each anchored root once: the entry's batch, the record batches in bundle order, then the
    # batches of the devices' registry events and edge readings.
    stated = (wire.entry_claim, *(b.claim for b in wire.batches), *evidence)
    run_onchain(rpc, trust, wire.domain.chain_id, wire.entry_claim.contract, stated, p)


def verify_figure(
    bundle: FigureProofBundle,
    rpc: ChainReader | None,
    *,
    trust: TrustRoot | None = None,
    reference: ReferenceRoot | None = None,
    published: bool = False,
) -> VerificationResult:
    """Run the checks in :data:`FIGURE_CHECKS` order; the on-chain ones are skipped when
    ``rpc`` is None. ``trust`` and ``reference`` default to the shipped trust root and
    published reference data; ``published`` requires the enterprise's signed publication
    statement (a public page's bundle). A failed check is in the result (whose ``record`` is
    None); an endpoint that cannot answer raises :class:`~verifier.rpc.RpcError`."""
    return run_checks(
        FIGURE_CHECKS, lambda progress: _run(bundle, rpc, trust, reference, progress, published)
    )
