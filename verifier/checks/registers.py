"""The register form of a figure proof (``docs/figure-proof-format.md`` section 11).

A device with a cumulative register is proven by a handful of its signed readings instead of
all of them: its first and last reading of the period, both ends of every epoch change between
them, and its readings just outside the period. Within one epoch the ledger admits a reading
only if its quantity is its register's step (``verifier.protocol.registers``), so the sum of
the quantities from reading ``a`` to reading ``b`` of one epoch is ``quantity(a) + register(b)
- register(a)``: the figure follows from the edges, however many readings lie between.

The checks run inside the figure proof's own, under its names: the readings' signatures under
``records``, their paths under ``record-inclusion``, their terminals under ``authorization``,
the edges and epochs under ``completeness``; the per-device sums then join the records in
``figures``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from accounting.from_records import RecordQuantity
from verifier.checks.devices import DeviceAuthority
from verifier.checks.kernel import (
    AnchorClaim,
    CheckStatus,
    ManifestView,
    check_attributes,
    check_manifest_counts,
    check_signature,
    decode_nodes,
    from_hex,
)
from verifier.errors import InvalidRecord, MerkleError, RegisterError, VerificationFailure
from verifier.formats.figure import DeviceEvidenceJson
from verifier.protocol.keccak import keccak256, parse_address, to_checksum_address
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.merkle import process_multiproof
from verifier.protocol.registers import MeterReading, meter_reading, without_registers
from verifier.protocol.typed_data import ActivityRecord, Domain, record_digest

if TYPE_CHECKING:
    from verifier.formats.entry import EntryDevice, EvaluationEntry
    from verifier.formats.figure import FigureProofBundle
    from verifier.formats.record import RegistryProofJson
    from verifier.formats.registers import (
        RegisterDeviceJson,
        RegisterEvidenceJson,
        RegisterReadingJson,
    )

__all__ = ["RegisterDevice", "RegisterProof", "check_register_count", "read_registers"]

_RECORD_KIND = str(int(LeafKind.ACTIVITY_RECORD))


def _fail(check: str, code: str, reason: str) -> VerificationFailure:
    return VerificationFailure(check, code, reason)


@dataclass(frozen=True)
class Reading:
    """One signed reading of the register form, checked against its signature."""

    where: str
    record: ActivityRecord
    meter: MeterReading | None  # None only for a reading outside the period with no register
    attributes: dict[str, Any] | None
    digest: bytes
    leaf: bytes
    batch: int

    @property
    def register(self) -> MeterReading:
        """The register of a reading inside the period (``records`` saw that it has one)."""
        assert self.meter is not None
        return self.meter


@dataclass(frozen=True)
class RegisterDevice:
    """A register device's readings, in the order they bound its period."""

    device: str
    before: Reading | None
    first: Reading
    changes: tuple[tuple[Reading, Reading], ...]
    last: Reading
    after: Reading | None

    def inside(self) -> Iterator[Reading]:
        yield self.first
        for end, start in self.changes:
            yield end
            yield start
        yield self.last

    def readings(self) -> Iterator[Reading]:
        yield from (r for r in (self.before, self.after) if r is not None)
        yield from self.inside()


def _reading(
    item: RegisterReadingJson, where: str, domain: Domain, entry: EvaluationEntry, inside: bool
) -> Reading:
    signed = item.record
    try:
        record = ActivityRecord.from_message(signed.message)
        signature = from_hex(signed.signature)
    except (InvalidRecord, KeyError, TypeError, ValueError) as exc:
        raise _fail("records", "RecordInvalid", f"{where}: not an ActivityRecord: {exc}") from None
    digest = record_digest(domain, record)
    try:
        check_signature(digest, signature, record.device)
        status, _ = check_attributes(signed.attributes, record)
    except VerificationFailure as exc:
        raise _fail("records", "Record" + exc.code, f"{where}: {exc.reason}") from None
    if status is CheckStatus.SKIPPED:
        raise _fail("records", "RecordAttributesMismatch", f"{where}: attributes not disclosed")
    if record.enterprise != entry.enterprise:
        raise _fail("records", "RecordOutsideEntry", f"{where}: a record of {record.enterprise}")
    period = entry.period
    if inside and not period.start_ts <= record.period_start <= record.period_end <= period.end_ts:
        raise _fail(
            "records",
            "RecordOutsideEntry",
            f"{where}: measured {record.period_start}..{record.period_end}, outside the "
            f"period {period.start_ts}..{period.end_ts}",
        )
    try:
        meter = meter_reading(record, signed.attributes)
    except RegisterError as exc:
        raise _fail("records", "RegisterInvalid", f"{where}: {exc}") from None
    if meter is None and inside:
        raise _fail("records", "RegisterInvalid", f"{where}: the reading carries no register")
    return Reading(
        where,
        record,
        meter,
        signed.attributes,
        digest,
        leaf_hash(LeafKind.ACTIVITY_RECORD, digest, keccak256(signature)),
        item.batch,
    )


def _device(
    d: int, item: RegisterDeviceJson, domain: Domain, entry: EvaluationEntry
) -> RegisterDevice:
    where = f"registers.devices[{d}]"

    def read(x: RegisterReadingJson | None, name: str, inside: bool = True) -> Reading | None:
        return None if x is None else _reading(x, f"{where}.{name}", domain, entry, inside)

    device = to_checksum_address(parse_address(item.device))
    found = RegisterDevice(
        device,
        read(item.before, "before", inside=False),
        read(item.first, "first"),  # type: ignore[arg-type]
        tuple(
            (read(c.end, f"changes[{k}].end"), read(c.start, f"changes[{k}].start"))
            for k, c in enumerate(item.changes)
        ),  # type: ignore[arg-type]
        read(item.last, "last"),  # type: ignore[arg-type]
        read(item.after, "after", inside=False),
    )
    for reading in found.readings():
        if reading.record.device != device:
            raise _fail(
                "records",
                "RecordInvalid",
                f"{reading.where}: a reading of {reading.record.device}, not {device}",
            )
    return found


@dataclass(frozen=True)
class RegisterProof:
    """The register form's readings, checked check by check as the figure proof runs."""

    evidence: RegisterEvidenceJson
    devices: tuple[RegisterDevice, ...]
    claims: tuple[AnchorClaim, ...]

    @property
    def addresses(self) -> frozenset[str]:
        return frozenset(d.device for d in self.devices)

    def sources(self) -> frozenset[str]:
        """The sources the register readings inside the period measure."""
        return frozenset(r.record.source for d in self.devices for r in d.inside())

    def describe(self) -> str:
        readings = sum(1 for d in self.devices for _ in d.readings())
        return f"; {readings} register readings of {len(self.devices)} devices"

    # --- record-inclusion ---------------------------------------------------------------

    def check_inclusion(self, enterprise: str) -> str:
        """Each batch's multiproof folds the leaves of the readings that name it to the batch's
        anchored root, and the batch's manifest section of the entry's enterprise holds
        each reading's seq in its device's range."""
        named: list[set[bytes]] = [set() for _ in self.claims]
        readings = [r for d in self.devices for r in d.readings()]
        for reading in readings:
            if reading.batch >= len(named):
                raise _fail("record-inclusion", "RecordNotIncluded", f"{reading.where}: no batch")
            named[reading.batch].add(reading.leaf)
        for b, leaves in enumerate(named):
            self._check_multiproof(b, leaves)
        sections = [self._section(b) for b in range(len(self.claims))]
        for reading in readings:
            _check_held(reading, sections[reading.batch], enterprise)
        return f"{len(readings)} register readings in {len(self.claims)} anchored batches"

    def _check_multiproof(self, b: int, named: set[bytes]) -> None:
        item, claim, where = self.evidence.batches[b], self.claims[b], f"registers.batches[{b}]"
        leaves = decode_nodes(item.leaves, f"{where}.leaves")
        if not named <= set(leaves):  # a leaf proven beyond the readings' proves nothing more
            raise _fail(
                "record-inclusion",
                "RecordNotIncluded",
                f"{where}: its multiproof leaves out a reading that names it",
            )
        try:
            root = process_multiproof(
                leaves, decode_nodes(item.proof, f"{where}.proof"), item.proof_flags
            )
        except MerkleError as exc:
            raise _fail("record-inclusion", "MultiproofInvalid", f"{where}: {exc}") from None
        if root != claim.root:
            raise _fail(
                "record-inclusion",
                "MultiproofInvalid",
                f"{where}: the multiproof folds to 0x{root.hex()}, not to {item.batch.root}",
            )

    def _section(self, b: int) -> ManifestView:
        item, claim = self.evidence.batches[b], self.claims[b]
        try:
            return check_manifest_counts(item.batch, claim.manifest_hash)
        except VerificationFailure as exc:
            raise _fail(
                "record-inclusion", "BatchManifestMismatch", f"registers.batches[{b}]: {exc.reason}"
            ) from None

    def device_evidence(
        self, registry: tuple[RegistryProofJson, ...]
    ) -> tuple[DeviceEvidenceJson, ...]:
        """A register device's registry events are taken from the enterprise's signed chain
        (``registry``, which checks 6a–6c prove complete), not repeated per device."""
        evidence = []
        for device in self.devices:
            own = tuple(e for e in registry if e.event.get("subject") == device.device)
            if not own:
                raise _fail(
                    "authorization",
                    "TerminalNotAuthorised",
                    f"the enterprise's registry shows no event of register device {device.device}",
                )
            evidence.append(DeviceEvidenceJson(device=device.device, registry=own))
        return tuple(evidence)

    # --- authorization ------------------------------------------------------------------

    def anchored(self) -> Iterator[tuple[str, ActivityRecord, int]]:
        """Each reading inside the period with the block its batch was anchored in."""
        for device in self.devices:
            for reading in device.inside():
                yield reading.where, reading.record, self.claims[reading.batch].block_number

    # --- completeness -------------------------------------------------------------------

    def quantities(
        self,
        counted: Mapping[str, EntryDevice],
        authorities: Mapping[str, DeviceAuthority],
        entry: EvaluationEntry,
    ) -> list[RecordQuantity]:
        """Per device and epoch run, the sum its registers prove, after checking the run's
        edges and epochs against the entry's device ranges and the period."""
        quantities: list[RecordQuantity] = []
        for device in self.devices:
            stated = counted.get(device.device)
            if stated is None:
                raise _fail(
                    "completeness",
                    "IncompleteRecords",
                    f"device {device.device} has readings but the entry counts none",
                )
            _check_range(device, stated)
            _check_outside(device, stated, authorities[device.device], entry)
            quantities.extend(_runs(device))
        return quantities


def _check_domain(
    evidence: RegisterEvidenceJson, claims: tuple[AnchorClaim, ...], domain: Domain
) -> None:
    contract = parse_address(domain.verifying_contract)
    for b, (item, claim) in enumerate(zip(evidence.batches, claims, strict=True)):
        if item.anchor.chain_id != domain.chain_id or claim.contract != contract:
            raise _fail(
                "records",
                "RecordDomainMismatch",
                f"records are signed for chain {domain.chain_id} contract "
                f"{domain.verifying_contract}; registers.batches[{b}] is anchored on chain "
                f"{item.anchor.chain_id} in {item.anchor.contract}",
            )


def _check_held(reading: Reading, manifest: ManifestView, enterprise: str) -> None:
    """The batch's manifest section is the entry's enterprise's and holds the reading's seq in
    its device's range."""
    record = reading.record
    mine = next((d for d in manifest.devices if d.device.lower() == record.device.lower()), None)
    if (
        not manifest.covers(enterprise)
        or manifest.kinds.get(_RECORD_KIND, 0) < 1
        or mine is None
        or not mine.first_seq <= record.seq <= mine.last_seq
    ):
        raise _fail(
            "record-inclusion",
            "BatchManifestMismatch",
            f"{reading.where}: the batch's manifest section of {enterprise} does not hold seq "
            f"{record.seq} of {record.device}",
        )


def read_registers(
    bundle: FigureProofBundle, domain: Domain, entry: EvaluationEntry
) -> RegisterProof | None:
    """The ``records`` part: every reading signed by its device, for this entry, with valid
    register attributes. None for a bundle without register devices."""
    evidence = bundle.registers
    if evidence is None:
        return None
    if bundle.version < 3:
        raise _fail("bundle", "BundleInvalid", "registers need a v3 bundle's device evidence")
    try:
        claims = tuple(AnchorClaim.of(b.batch, b.anchor) for b in evidence.batches)
    except ValueError as exc:
        raise _fail("bundle", "BundleInvalid", f"registers.batches: {exc}") from None
    _check_domain(evidence, claims, domain)
    devices = tuple(_device(d, item, domain, entry) for d, item in enumerate(evidence.devices))
    seen = [d.device for d in devices]
    twice = next((a for a in seen if seen.count(a) > 1), None)
    if twice is not None:
        raise _fail("completeness", "IncompleteRecords", f"register device {twice} appears twice")
    return RegisterProof(evidence, devices, claims)


def check_register_count(
    entry: EvaluationEntry, records: int, counted: Mapping[str, EntryDevice]
) -> None:
    """The records given plus the register devices' stated counts are the entry's count. The
    register form cannot rehash ``digestsHash`` (it does not hold every digest): each device's
    count is tied to its signed edge readings instead (``RegisterProof.quantities``)."""
    metered = sum(d.count for a, d in _devices_by_address(entry).items() if a not in counted)
    if records + metered != entry.records.count:
        raise _fail(
            "completeness",
            "IncompleteRecords",
            f"{records} records given and {metered} counted by registers, the entry counts "
            f"{entry.records.count}",
        )


def _devices_by_address(entry: EvaluationEntry) -> dict[str, EntryDevice]:
    return {to_checksum_address(parse_address(d.device)): d for d in entry.records.devices}


def _edge_mismatch(reason: str) -> VerificationFailure:
    return _fail("completeness", "RegisterEdgeMismatch", reason)


def _check_range(device: RegisterDevice, stated: EntryDevice) -> None:
    first, last = stated.first_seq, stated.last_seq
    if stated.count != last - first + 1:
        raise _fail(
            "completeness",
            "IncompleteRecords",
            f"the entry counts {stated.count} records of {device.device} in seq "
            f"{first}..{last}: a gap",
        )
    if device.first.record.seq != first or device.last.record.seq != last:
        raise _edge_mismatch(
            f"device {device.device}: the register readings are seq {device.first.record.seq}"
            f"..{device.last.record.seq}, the entry counts {first}..{last}"
        )
    if device.first.record.source != stated.source:
        raise _fail(
            "completeness",
            "IncompleteRecords",
            f"device {device.device} measured {device.first.record.source}, the entry states "
            f"{stated.source}",
        )


def _edge_open(reason: str) -> VerificationFailure:
    return _fail("completeness", "PeriodEdgeUnproven", reason)


def _check_outside(
    device: RegisterDevice,
    stated: EntryDevice,
    authority: DeviceAuthority,
    entry: EvaluationEntry,
) -> None:
    """The readings just outside the period, as ``verifier.checks.devices`` demands of the
    record form: seq ``firstSeq - 1`` ending by the period's start (or a registration starting
    at ``firstSeq``), seq ``lastSeq + 1`` starting at its end (or a revocation ending at
    ``lastSeq``)."""
    period, name = entry.period, device.device
    if device.before is None:
        if stated.first_seq not in authority.first_seq:
            raise _edge_open(f"device {name}: neither seq {stated.first_seq - 1} nor a start")
    elif (
        device.before.record.seq != stated.first_seq - 1
        or device.before.record.period_end > period.start_ts
    ):
        raise _edge_open(
            f"device {name}: the reading before is not seq {stated.first_seq - 1} "
            "ending by the period's start"
        )
    if device.after is None:
        if stated.last_seq not in authority.last_seq:
            raise _edge_open(f"device {name}: neither seq {stated.last_seq + 1} nor an end")
    elif (
        device.after.record.seq != stated.last_seq + 1
        or device.after.record.period_start < period.end_ts
    ):
        raise _edge_open(
            f"device {name}: the reading after is not seq {stated.last_seq + 1} "
            "starting at the period's end"
        )


def _epoch_hidden(reason: str) -> VerificationFailure:
    return _fail("completeness", "RegisterEpochHidden", reason)


def _segments(device: RegisterDevice) -> list[tuple[Reading, Reading]]:
    """The epoch runs ``(start, end)`` the readings bound, after checking every change is one
    step of epoch between consecutive readings, in order, and none is left out."""
    runs, start = [], device.first
    for end, following in device.changes:
        if not start.record.seq <= end.record.seq < device.last.record.seq:
            raise _epoch_hidden(f"{end.where}: seq {end.record.seq} is out of order")
        if following.record.seq != end.record.seq + 1:
            raise _epoch_hidden(
                f"{following.where}: seq {following.record.seq} does not follow {end.record.seq}"
            )
        if (
            end.register.epoch != start.register.epoch
            or following.register.epoch != end.register.epoch + 1
        ):
            raise _epoch_hidden(
                f"{end.where}: epochs {end.register.epoch} → {following.register.epoch} are "
                f"not one change from epoch {start.register.epoch}"
            )
        runs.append((start, end))
        start = following
    if (
        device.last.register.epoch != start.register.epoch
        or device.last.record.seq < start.record.seq
    ):
        raise _epoch_hidden(
            f"device {device.device}: its register is in epoch {device.last.register.epoch} at seq "
            f"{device.last.record.seq} but the bundle shows "
            f"{len(device.changes)} epoch change(s) from epoch {device.first.register.epoch}: "
            "a meter change or register reset is not shown"
        )
    runs.append((start, device.last))
    return runs


def _run_quantity(start: Reading, end: Reading) -> RecordQuantity:
    a, b = start.register, end.register
    if start.record.seq == end.record.seq:
        if start.digest != end.digest:
            raise _edge_mismatch(f"{end.where}: two readings of seq {end.record.seq}")
        total = a.quantity
    else:
        if a.meter != b.meter:
            raise _fail(
                "completeness",
                "RegisterMeterChanged",
                f"{end.where}: not the meter of {start.where} (activity, source, unit, "
                "decimals or attributes differ) within one epoch",
            )
        if b.register < a.register:
            raise _fail(
                "completeness",
                "RegisterDiscontinuity",
                f"{end.where}: register {b.register} is below {start.where}'s {a.register}",
            )
        total = a.quantity + b.register - a.register
    r = start.record
    return RecordQuantity(
        r.activity, r.source, total, r.decimals, r.unit, without_registers(start.attributes)
    )


def _runs(device: RegisterDevice) -> list[RecordQuantity]:
    runs = _segments(device)
    for start, _ in runs[1:]:  # an epoch's first reading counts from its signed opening
        if start.register.epoch_quantity() != start.register.quantity:
            raise _fail(
                "completeness",
                "RegisterDiscontinuity",
                f"{start.where}: the first reading of epoch {start.register.epoch} does not count "
                "from its registerOpening",
            )
    return [_run_quantity(start, end) for start, end in runs]
