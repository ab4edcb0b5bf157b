"""Verifying a figure proof bundle (``docs/figure-proof-format.md``): twelve checks in order.

A figure proof shows that one reported figure of an anchored evaluation entry follows, exactly,
from signed and anchored activity records: the entry is a leaf of an anchored batch, every
record is signed by its device and included in an anchored batch, the records are exactly the
ones the entry counted (none left out, none added), and accounting them with the disclosed
factor set (and grading with the disclosed ruleset) gives the entry's figures digit for digit.

As in :mod:`verifier.checks.record`, each check passes or raises its own
:class:`~verifier.checks.record.VerificationFailure` subclass whose ``check`` is the check's stable
name; the first failure ends the run. Checks 1–8 read only the bundle; checks 9–12 read the
chain through the :class:`~verifier.rpc.ChainReader` the caller passes.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

import rfc8785
from pydantic import Field

from accounting import account
from accounting.errors import AccountingError
from accounting.factors import FactorSet, parse_factor_set
from accounting.figures import figure_at, figures
from accounting.from_records import RecordQuantity, inventory_from_records
from accounting.grading import (
    POPULATION_DEFINITION,
    IndustryAverage,
    PopulationBasis,
    Ruleset,
    grade,
    industry_average_from_population,
    parse_ruleset,
)
from verifier.checks.record import (
    ONCHAIN_CHECKS,
    AnchorClaim,
    AnchorMismatch,
    AttributesMismatch,
    BundleInvalid,
    CheckStatus,
    Progress,
    SignatureMalformed,
    SignatureMalleable,
    SignatureMismatch,
    VerificationFailure,
    VerificationResult,
    check_anchor_location,
    check_anchored,
    check_attributes,
    check_chain_id,
    check_contract_code,
    check_manifest_counts,
    check_merkle_path,
    check_signature,
    run_checks,
    validate_model,
)
from verifier.errors import InvalidRecord, MerkleError, SignatureError
from verifier.formats.figure import (
    FIGURE_PROOF_FORMAT,
    BatchProofJson,
    FigureProofBundle,
    SignedRecordJson,
)
from verifier.formats.record import ADDRESS, HEX32, Frozen
from verifier.protocol.keccak import keccak256, parse_address, to_checksum_address
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.merkle import process_multiproof
from verifier.protocol.typed_data import ActivityRecord, Domain, record_digest, recover_address
from verifier.rpc import ChainReader
from verifier.trust import TrustRoot, load_default_trust

__all__ = [
    "ENTRY_FORMAT",
    "FIGURE_CHECKS",
    "BatchIncomplete",
    "BatchManifestMismatch",
    "EntryLeafMismatch",
    "EntryManifestMismatch",
    "EntryPathInvalid",
    "EvaluationEntry",
    "FactorSetMismatch",
    "FigureMismatch",
    "GradeMismatch",
    "IncompleteRecords",
    "MultiproofInvalid",
    "RecordAttributesMismatch",
    "RecordDomainMismatch",
    "RecordInvalid",
    "RecordLeafMismatch",
    "RecordNotIncluded",
    "RecordOutsideEntry",
    "RecordSignatureMalformed",
    "RecordSignatureMalleable",
    "RecordSignatureMismatch",
    "RulesetMismatch",
    "SourceNotCovered",
    "SourceOutsideBoundary",
    "figure_value",
    "parse_figure_bundle",
    "verify_figure",
]

ENTRY_FORMAT = "carbon-ledger/evaluation"
FIGURE_CHECKS: tuple[str, ...] = (
    "bundle",
    "entry-leaf",
    "records",
    "record-inclusion",
    "completeness",
    "factor-set",
    "figures",
    "rating",
    *ONCHAIN_CHECKS,
)
RATING_FIGURES = ("rating.grade", "rating.L", "rating.K")

_ZERO = bytes(32)
_ENTRY_KIND = str(int(LeafKind.LEDGER_ENTRY))
_RECORD_KIND = str(int(LeafKind.ACTIVITY_RECORD))
# What a malformed number or document in the bundle may raise while it is recomputed.
_BAD_INPUT = (AccountingError, KeyError, TypeError, ValueError, ArithmeticError)


# --- failures: one class per way a check fails ----------------------------------------------


class EntryLeafMismatch(VerificationFailure):
    """The entry does not hash to the stated ledger-entry leaf."""

    check = "entry-leaf"


class EntryPathInvalid(VerificationFailure):
    check = "entry-leaf"


class EntryManifestMismatch(VerificationFailure):
    check = "entry-leaf"


class RecordDomainMismatch(VerificationFailure):
    """The records' signing domain is not the chain and contract the batches are anchored in."""

    check = "records"


class RecordInvalid(VerificationFailure):
    check = "records"


class RecordSignatureMalformed(VerificationFailure):
    check = "records"


class RecordSignatureMalleable(VerificationFailure):
    check = "records"


class RecordSignatureMismatch(VerificationFailure):
    check = "records"


class RecordAttributesMismatch(VerificationFailure):
    check = "records"


class RecordOutsideEntry(VerificationFailure):
    """A record of another enterprise, or measured outside the entry's period."""

    check = "records"


class RecordNotIncluded(VerificationFailure):
    """A record is in no batch, in two, or a batch names a record the bundle lacks."""

    check = "record-inclusion"


class RecordLeafMismatch(VerificationFailure):
    check = "record-inclusion"


class MultiproofInvalid(VerificationFailure):
    check = "record-inclusion"


class BatchManifestMismatch(VerificationFailure):
    check = "record-inclusion"


class IncompleteRecords(VerificationFailure):
    """The records are not exactly the ones the entry counted (digests, count, seq ranges)."""

    check = "completeness"


class SourceNotCovered(VerificationFailure):
    check = "completeness"


class SourceOutsideBoundary(VerificationFailure):
    check = "completeness"


class BatchIncomplete(VerificationFailure):
    """A batch holds more of a device's records in the entry's range than the bundle gives."""

    check = "completeness"


class FactorSetMismatch(VerificationFailure):
    check = "factor-set"


class FigureMismatch(VerificationFailure):
    check = "figures"


class RulesetMismatch(VerificationFailure):
    check = "rating"


class GradeMismatch(VerificationFailure):
    check = "rating"


_AS_RECORD_FAILURE: dict[type[VerificationFailure], type[VerificationFailure]] = {
    SignatureMalformed: RecordSignatureMalformed,
    SignatureMalleable: RecordSignatureMalleable,
    SignatureMismatch: RecordSignatureMismatch,
    AttributesMismatch: RecordAttributesMismatch,
}


@contextmanager
def _reraise(prefix: str, into: type[VerificationFailure] | None = None) -> Iterator[None]:
    """Re-raise a shared check's failure as ``into`` (or its own record-level class, or
    itself), its reason prefixed with where in the bundle it happened."""
    try:
        yield
    except VerificationFailure as exc:
        cls = into or _AS_RECORD_FAILURE.get(type(exc), type(exc))
        raise cls(prefix + exc.reason) from None


# --- the evaluation entry -------------------------------------------------------------------


class EntryPeriod(Frozen):
    start: date
    end: date
    start_ts: int = Field(alias="startTs")
    end_ts: int = Field(alias="endTs")
    utc_offset_hours: int = Field(alias="utcOffsetHours")


class EntryBoundary(Frozen):
    sources: tuple[str, ...]


class EntryDevice(Frozen):
    device: str = Field(pattern=ADDRESS)
    source: str
    first_seq: int = Field(alias="firstSeq", ge=0)
    last_seq: int = Field(alias="lastSeq", ge=0)
    count: int = Field(ge=1)


class EntryRecords(Frozen):
    count: int = Field(ge=1)
    digests_hash: str = Field(alias="digestsHash", pattern=HEX32)
    devices: tuple[EntryDevice, ...] = Field(min_length=1)


class EntryFactorSet(Frozen):
    id: str
    version: str
    digest: str = Field(pattern=HEX32)


class EntryAccounting(Frozen):
    engine_version: str = Field(alias="engineVersion")
    factor_set: EntryFactorSet = Field(alias="factorSet")
    gwp: str
    factor_choices: dict[str, str] = Field(alias="factorChoices")
    figures: dict[str, Any]


class EvaluationEntry(Frozen):
    """The fields of a ``carbon-ledger/evaluation`` v1 entry the checks read."""

    format: Literal["carbon-ledger/evaluation"]
    version: Literal[1]
    identifier: str
    enterprise: str
    industry: str
    region: str | None = None
    period: EntryPeriod
    boundary: EntryBoundary
    records: EntryRecords
    accounting: EntryAccounting
    rating: dict[str, Any] | None
    created_at: str = Field(alias="createdAt")


def figure_value(entry: Mapping[str, Any], path: str) -> str:
    """The reported value of ``path`` in an entry (KeyError when it reports no such figure):
    ``total``, ``byCategory.x``, ``byGas.x``, ``bySource.x`` from the reported figures;
    ``rating.grade``, ``rating.L``, ``rating.K`` from the rating."""
    if path in RATING_FIGURES:
        value = entry["rating"][path.removeprefix("rating.")]
        return str(value) if path == "rating.grade" else value["reported"]
    return figure_at(entry["accounting"]["figures"]["reported"], path)


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
    """Check 1 on decoded JSON: a ``carbon-ledger/figure-proof`` v1 document of the right
    shape. Raises :class:`BundleInvalid` with the first problem found."""
    if not isinstance(data, dict) or data.get("format") != FIGURE_PROOF_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise BundleInvalid(f"not a {FIGURE_PROOF_FORMAT} bundle (format {found!r})")
    if data.get("version") != 1:
        raise BundleInvalid(f"unsupported bundle version {data.get('version')!r}; this reads 1")
    return validate_model(FigureProofBundle, data)


def _nodes(nodes: tuple[str, ...], where: str) -> tuple[bytes, ...]:
    decoded = tuple(bytes.fromhex(n[2:]) if n[:2] == "0x" else b"" for n in nodes)
    bad = next((i for i, node in enumerate(decoded) if len(node) != 32), None)
    if bad is not None:
        raise BundleInvalid(f"{where}[{bad}] is not 0x + 64 hex digits")
    return decoded


def _batch_wire(b: int, batch: BatchProofJson) -> _BatchWire:
    return _BatchWire(
        claim=AnchorClaim.of(batch.batch, batch.anchor),
        leaves=_nodes(batch.leaves, f"batches[{b}].leaves"),
        proof=_nodes(batch.proof, f"batches[{b}].proof"),
    )


def _check_bundle(bundle: FigureProofBundle) -> _Wire:
    if bundle.format != FIGURE_PROOF_FORMAT or bundle.version != 1:
        raise BundleInvalid(f"not a {FIGURE_PROOF_FORMAT} v1 bundle")
    stated = bundle.entry.get("format"), bundle.entry.get("version")
    if stated != (ENTRY_FORMAT, 1):
        raise BundleInvalid(f"entry is {stated[0]!r} v{stated[1]!r}, not {ENTRY_FORMAT} v1")
    entry = validate_model(EvaluationEntry, bundle.entry, "entry")
    try:
        devices = {to_checksum_address(parse_address(d.device)): d for d in entry.records.devices}
        return _Wire(
            entry=entry,
            domain=Domain(bundle.domain.chain_id, bundle.domain.verifying_contract),
            entry_proof=_nodes(bundle.entry_proof.proof, "entryProof.proof"),
            entry_claim=AnchorClaim.of(bundle.entry_proof.batch, bundle.entry_proof.anchor),
            batches=tuple(_batch_wire(b, batch) for b, batch in enumerate(bundle.batches)),
            signatures=tuple(bytes.fromhex(r.signature[2:]) for r in bundle.records),
            devices=devices,
        )
    except ValueError as exc:  # also InvalidRecord from Domain
        raise BundleInvalid(str(exc)) from None


# --- check 2: the entry is an anchored ledger leaf ------------------------------------------


def _check_entry_leaf(bundle: FigureProofBundle, wire: _Wire) -> str:
    try:
        digest = keccak256(rfc8785.dumps(bundle.entry))
    except rfc8785.CanonicalizationError as exc:
        raise EntryLeafMismatch(f"the entry has no canonical JSON: {exc}") from None
    hashed = leaf_hash(LeafKind.LEDGER_ENTRY, digest, _ZERO)
    stated = bundle.entry_proof.leaf
    for name, value in (
        ("kind", int(LeafKind.LEDGER_ENTRY)),
        ("digest", "0x" + digest.hex()),
        ("aux", "0x" + _ZERO.hex()),
        ("hash", "0x" + hashed.hex()),
    ):
        if getattr(stated, name) != value:
            raise EntryLeafMismatch(f"entry leaf {name} is {getattr(stated, name)}, not {value}")
    batch, claim = bundle.entry_proof.batch, wire.entry_claim
    with _reraise("entry: ", EntryPathInvalid):
        check_merkle_path(hashed, wire.entry_proof, claim.root, batch.leaf_count)
    with _reraise("entry batch: ", EntryManifestMismatch):
        check_manifest_counts(batch, claim.manifest_hash)
    if batch.manifest.kinds.get(_ENTRY_KIND, 0) < 1:
        raise EntryManifestMismatch("the entry batch's manifest counts no ledger entry")
    return f"entry {wire.entry.identifier} is leaf {stated.hash} under root {batch.root}"


# --- check 3: every record signed, for this entry -------------------------------------------


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
            raise RecordDomainMismatch(
                f"records are signed for chain {wire.domain.chain_id} contract "
                f"{wire.domain.verifying_contract}; {where} is anchored on chain "
                f"{anchor.chain_id} in {anchor.contract}"
            )


@lru_cache(maxsize=1024)
def _address(text: str) -> bytes:
    return parse_address(text)


def _signed_by(digest: bytes, signature: bytes, device: str) -> bool:
    """True if ``signature`` recovers to ``device``; False leaves the verdict, and the
    failure's name, to :func:`check_signature`. A figure proof carries one signature per
    record, so addresses are compared as bytes, without checksumming."""
    try:
        return recover_address(digest, signature) == _address(device)
    except (SignatureError, ValueError):
        return False


def _check_record(
    i: int, signed: SignedRecordJson, signature: bytes, domain: Domain, entry: EvaluationEntry
) -> _Checked:
    where = f"records[{i}]: "
    try:
        record = ActivityRecord.from_message(signed.message)
    except (InvalidRecord, KeyError, TypeError, ValueError) as exc:
        raise RecordInvalid(f"{where}not an ActivityRecord message: {exc}") from None
    digest = record_digest(domain, record)
    try:  # not _reraise: this runs once per record, and a plain try costs nothing
        if not _signed_by(digest, signature, record.device):
            check_signature(digest, signature, record.device)
        status, _ = check_attributes(signed.attributes, record)
    except VerificationFailure as exc:
        raise _AS_RECORD_FAILURE[type(exc)](where + exc.reason) from None
    if status is CheckStatus.SKIPPED:
        raise RecordAttributesMismatch(f"{where}attributes not disclosed; the figure needs them")
    if record.enterprise != entry.enterprise:
        raise RecordOutsideEntry(f"{where}a record of {record.enterprise}, not {entry.enterprise}")
    period = entry.period
    if not period.start_ts <= record.period_start <= record.period_end <= period.end_ts:
        raise RecordOutsideEntry(
            f"{where}measured {record.period_start}..{record.period_end}, outside the entry's "
            f"period {period.start_ts}..{period.end_ts}"
        )
    return _Checked(
        record, digest, leaf_hash(LeafKind.ACTIVITY_RECORD, digest, keccak256(signature))
    )


def _check_records(bundle: FigureProofBundle, wire: _Wire) -> tuple[_Checked, ...]:
    _check_domain(bundle, wire)
    if not bundle.records:
        raise IncompleteRecords("the bundle holds no record")
    return tuple(
        _check_record(i, signed, signature, wire.domain, wire.entry)
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
                raise RecordNotIncluded(f"batches[{b}] names records[{index}], which is absent")
            if home[index] is not None:
                raise RecordNotIncluded(f"records[{index}] is in batches[{home[index]}] and [{b}]")
            home[index] = b
    missing = next((i for i, b in enumerate(home) if b is None), None)
    if missing is not None:
        raise RecordNotIncluded(f"records[{missing}] is in no batch of the bundle")


def _check_batch(
    b: int, batch: BatchProofJson, wire: _BatchWire, checked: tuple[_Checked, ...]
) -> None:
    if len(wire.leaves) != len(batch.records):
        raise RecordLeafMismatch(
            f"batches[{b}] has {len(wire.leaves)} leaves for {len(batch.records)} records"
        )
    for k, index in enumerate(batch.records):
        if wire.leaves[k] != checked[index].leaf:
            raise RecordLeafMismatch(
                f"batches[{b}].leaves[{k}] is not the leaf of records[{index}]"
            )
    try:
        root = process_multiproof(wire.leaves, wire.proof, batch.proof_flags)
    except MerkleError as exc:
        raise MultiproofInvalid(f"batches[{b}]: {exc}") from None
    if root != wire.claim.root:
        raise MultiproofInvalid(
            f"batches[{b}]: the multiproof folds to 0x{root.hex()}, not to root {batch.batch.root}"
        )
    with _reraise(f"batches[{b}]: ", BatchManifestMismatch):
        check_manifest_counts(batch.batch, wire.claim.manifest_hash)
    if batch.batch.manifest.kinds.get(_RECORD_KIND, 0) < len(batch.records):
        raise BatchManifestMismatch(f"batches[{b}]: the manifest counts fewer records")


def _check_inclusion(bundle: FigureProofBundle, wire: _Wire, checked: tuple[_Checked, ...]) -> str:
    _check_assignment(bundle)
    for b, (batch, batch_wire) in _batches(bundle, wire):
        _check_batch(b, batch, batch_wire, checked)
    return f"{len(checked)} records in {len(bundle.batches)} anchored batches"


# --- check 5: exactly the entry's records ---------------------------------------------------


def _check_digests(entry: EvaluationEntry, checked: tuple[_Checked, ...]) -> None:
    digests = sorted(c.digest for c in checked)
    twice = next((a for a, b in itertools.pairwise(digests) if a == b), None)
    if twice is not None:
        raise IncompleteRecords(f"record 0x{twice.hex()} appears twice")
    if len(digests) != entry.records.count:
        raise IncompleteRecords(
            f"{len(digests)} records given, the entry counts {entry.records.count}"
        )
    computed = "0x" + keccak256(b"".join(digests)).hex()
    if computed != entry.records.digests_hash:
        raise IncompleteRecords(
            f"the record digests hash to {computed}, the entry states {entry.records.digests_hash}"
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
        raise IncompleteRecords(
            f"the entry counts {stated.count} records of {device} in seq {first}..{last}: a gap"
        )
    seqs = [r.seq for r in records]
    if seqs != list(range(first, last + 1)):
        gap = next(
            (s for s, want in zip(seqs, range(first, last + 1), strict=False) if s != want), None
        )
        raise IncompleteRecords(
            f"device {device}: records are seq {seqs[0]}..{seqs[-1]} "
            f"({len(seqs)}), the entry counts {first}..{last}"
            + (f"; seq {gap} is out of place" if gap is not None else "")
        )
    if records[0].source != stated.source:
        raise IncompleteRecords(
            f"device {device} measured {records[0].source}, the entry states {stated.source}"
        )


def _check_devices(wire: _Wire, by_device: dict[str, list[ActivityRecord]]) -> None:
    extra = sorted(set(by_device) - set(wire.devices))
    if extra:
        raise IncompleteRecords(f"device {extra[0]} has records but the entry counts none")
    for device, stated in sorted(wire.devices.items()):
        records = by_device.get(device)
        if not records:
            raise IncompleteRecords(f"the entry counts device {device}, the bundle has none")
        _check_device(device, stated, records)


def _check_boundary(entry: EvaluationEntry, checked: tuple[_Checked, ...]) -> None:
    covered = {c.record.source for c in checked}
    boundary = set(entry.boundary.sources)
    missing = sorted(boundary - covered)
    if missing:
        raise SourceNotCovered(f"boundary source {missing[0]} has no record")
    outside = sorted(covered - boundary)
    if outside:
        raise SourceOutsideBoundary(f"source {outside[0]} is not in the entry's boundary")


def _check_batch_counts(
    b: int, batch: BatchProofJson, wire: _Wire, checked: tuple[_Checked, ...]
) -> None:
    """Per device: the given records lie in the manifest's range, and where that range lies
    wholly inside the entry's, the batch holds no record of it that the bundle leaves out."""
    given: dict[str, list[int]] = defaultdict(list)
    for index in batch.records:
        given[checked[index].record.device].append(checked[index].record.seq)
    ranges = {to_checksum_address(parse_address(d.device)): d for d in batch.batch.manifest.devices}
    for device, seqs in sorted(given.items()):
        held = ranges.get(device)
        if held is None or not held.first_seq <= min(seqs) <= max(seqs) <= held.last_seq:
            raise BatchIncomplete(
                f"batches[{b}]: the manifest does not hold the records of {device} given for it"
            )
    for device, held in sorted(ranges.items()):
        stated = wire.devices.get(device)
        inside = stated and stated.first_seq <= held.first_seq <= held.last_seq <= stated.last_seq
        if inside and len(given.get(device, ())) != held.count:
            raise BatchIncomplete(
                f"batches[{b}] holds {held.count} records of {device} in the entry's range, "
                f"the bundle gives {len(given.get(device, ()))}"
            )


def _check_completeness(
    bundle: FigureProofBundle, wire: _Wire, checked: tuple[_Checked, ...]
) -> str:
    _check_digests(wire.entry, checked)
    _check_devices(wire, _seqs_by_device(checked))
    _check_boundary(wire.entry, checked)
    for b, batch in enumerate(bundle.batches):
        _check_batch_counts(b, batch, wire, checked)
    return (
        f"{len(checked)} records, {len(wire.devices)} devices contiguous, "
        f"{len(wire.entry.boundary.sources)} sources covered"
    )


# --- checks 6–8: the figures recomputed -----------------------------------------------------


def _check_factor_set(bundle: FigureProofBundle, entry: EvaluationEntry) -> FactorSet:
    try:
        factor_set = parse_factor_set(dict(bundle.factor_set))
    except _BAD_INPUT as exc:
        raise FactorSetMismatch(f"not a factor set document: {exc}") from None
    stated = entry.accounting.factor_set
    for name in ("digest", "id", "version"):
        if getattr(factor_set, name) != getattr(stated, name):
            raise FactorSetMismatch(
                f"factor set {name} is {getattr(factor_set, name)}, the "
                f"entry states {getattr(stated, name)}"
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
) -> dict[str, Any]:
    quantities = [
        RecordQuantity(r.activity, r.source, r.quantity, r.decimals, r.unit, signed.attributes)
        for r, signed in ((c.record, s) for c, s in zip(checked, bundle.records, strict=True))
    ]
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
        return figures(account(inventory, factor_set, accounting.gwp))
    except _BAD_INPUT as exc:
        raise FigureMismatch(f"the records cannot be accounted: {exc}") from None


def _check_figures(
    bundle: FigureProofBundle, wire: _Wire, checked: tuple[_Checked, ...], factor_set: FactorSet
) -> str:
    computed = _recompute_figures(bundle, wire.entry, checked, factor_set)
    if computed != wire.entry.accounting.figures:
        difference = _first_difference(computed, wire.entry.accounting.figures)
        raise FigureMismatch(f"figures differ at {difference}")
    path = bundle.figure.path
    try:
        value = figure_value(bundle.entry, path)
    except (KeyError, TypeError):
        raise FigureMismatch(f"the entry reports no figure {path!r}") from None
    if value != bundle.figure.value:
        raise FigureMismatch(
            f"{path} is {value} in the entry, the bundle claims {bundle.figure.value}"
        )
    return f"{path} = {value}, figures recomputed exactly from {len(checked)} records"


def _check_ruleset(bundle: FigureProofBundle, rating: dict[str, Any]) -> Ruleset:
    if bundle.ruleset is None:
        raise RulesetMismatch("the entry is rated but the bundle carries no ruleset")
    try:
        ruleset = parse_ruleset(dict(bundle.ruleset))
    except _BAD_INPUT as exc:
        raise RulesetMismatch(f"not a ruleset document: {exc}") from None
    stated = rating.get("ruleset")
    if ruleset.summary() != stated:
        raise RulesetMismatch(f"the ruleset is {ruleset.summary()}, the entry states {stated}")
    return ruleset


def _population_average(
    entry: EvaluationEntry, stated: dict[str, Any], own: tuple[Decimal, Decimal]
) -> IndustryAverage:
    """The recorded population average, rebuilt from its basis. The members are not in the
    bundle, so the basis digest is recomputed only for a population of one (this firm)."""
    year, basis = entry.period.start.year, stated["population"]
    if basis["definition"] != POPULATION_DEFINITION:
        raise GradeMismatch(f"unknown population definition {basis['definition']!r}")
    count = basis["count"]
    totals = Decimal(basis["total_emissions_t"]), Decimal(basis["total_added_value_wan_yuan"])
    if not isinstance(count, int) or count < 1 or totals[0] < own[0] or totals[1] < own[1]:
        raise GradeMismatch("the population basis does not include this enterprise")
    if count == 1:
        return industry_average_from_population(entry.industry, year, [own])
    population = PopulationBasis(count, *totals, POPULATION_DEFINITION, basis["digest"])
    return IndustryAverage(entry.industry, year, "population", *totals, population=population)


def _regrade(entry: EvaluationEntry, rating: dict[str, Any], ruleset: Ruleset) -> dict[str, Any]:
    try:
        emissions = Decimal(entry.accounting.figures["exact"]["total"])
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
        raise GradeMismatch(f"the rating cannot be recomputed: {exc}") from None
    return recomputed.to_dict()


def _check_rating(bundle: FigureProofBundle, entry: EvaluationEntry) -> str | None:
    rating = entry.rating
    if rating is None:
        return None
    ruleset = _check_ruleset(bundle, rating)
    recomputed = _regrade(entry, rating, ruleset)
    if recomputed != rating:
        raise GradeMismatch(f"rating differs at {_first_difference(recomputed, rating)}")
    origin = rating["industry_average"]["origin"]
    return f"grade {rating['grade']} recomputed with {ruleset.id}, {origin} average"


# --- checks 9–12: the chain -----------------------------------------------------------------


def _claims(wire: _Wire) -> tuple[AnchorClaim, ...]:
    """Each anchored root once: the entry's batch, then the record batches in bundle order."""
    unique: dict[bytes, AnchorClaim] = {}
    for claim in (wire.entry_claim, *(b.claim for b in wire.batches)):
        if unique.setdefault(claim.root, claim) != claim:
            raise AnchorMismatch(f"root 0x{claim.root.hex()} is claimed at two anchors")
    return tuple(unique.values())


def _run_onchain(wire: _Wire, rpc: ChainReader, trust: TrustRoot, p: Progress) -> None:
    check_chain_id(rpc, wire.domain.chain_id)
    p.add("chain-id", f"chain {wire.domain.chain_id}")
    trusted = check_contract_code(rpc, wire.entry_claim.contract, trust)
    p.add("contract-code", f"{trusted.contract_name} {trusted.compiler_version}".strip())
    claims = _claims(wire)
    for claim in claims:
        with _reraise(f"root 0x{claim.root.hex()}: "):
            check_anchored(rpc, claim)
    p.add("anchored", f"{len(claims)} roots anchored as stated")
    for claim in claims:
        with _reraise(f"batch {claim.batch_id}: "):
            check_anchor_location(rpc, claim)
    p.add("anchor-location", f"{len(claims)} Anchored events where stated")


# --- the run --------------------------------------------------------------------------------


def _run(
    bundle: FigureProofBundle, rpc: ChainReader | None, trust: TrustRoot | None, p: Progress
) -> None:
    wire = _check_bundle(bundle)
    p.add("bundle", f"{bundle.format} v{bundle.version}, figure {bundle.figure.path}")
    p.add("entry-leaf", _check_entry_leaf(bundle, wire))
    checked = _check_records(bundle, wire)
    p.add("records", f"{len(checked)} records signed by their devices, for this entry")
    p.add("record-inclusion", _check_inclusion(bundle, wire, checked))
    p.add("completeness", _check_completeness(bundle, wire, checked))
    factor_set = _check_factor_set(bundle, wire.entry)
    p.add("factor-set", f"{factor_set.id} {factor_set.version} {factor_set.digest}")
    p.add("figures", _check_figures(bundle, wire, checked, factor_set))
    rating = _check_rating(bundle, wire.entry)
    if rating is None:
        p.add("rating", "the entry carries no rating", CheckStatus.SKIPPED)
    else:
        p.add("rating", rating)
    if rpc is None:
        for name in ONCHAIN_CHECKS:
            p.add(name, "offline", CheckStatus.SKIPPED)
        return
    _run_onchain(wire, rpc, trust or load_default_trust(), p)


def verify_figure(
    bundle: FigureProofBundle, rpc: ChainReader | None, *, trust: TrustRoot | None = None
) -> VerificationResult:
    """Run the checks in :data:`FIGURE_CHECKS` order; the on-chain ones are skipped when
    ``rpc`` is None. ``trust`` defaults to the shipped trust root. A failed check is in the
    result (whose ``record`` is None); an endpoint that cannot answer raises
    :class:`~verifier.rpc.RpcError`."""
    return run_checks(FIGURE_CHECKS, lambda progress: _run(bundle, rpc, trust, progress))
