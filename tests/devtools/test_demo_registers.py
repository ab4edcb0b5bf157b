"""The demo's register meters: the float glass works signs the month's same quantities with
cumulative registers that ingest admits, and its furnace's gas meter is replaced once.

The furnace meter's month is 298.6 (10^4 Nm3) at three decimals, 298,600 scaled units over
720 hours: 414 an hour with the remainder 520 spread one each over the first 520 hours, so
seqs 1-520 read 415 and seqs 521-720 read 414; the closing reading (seq 721) repeats 414.
"""

from __future__ import annotations

from collections import defaultdict

from devtools.demo import sign_plan
from devtools.demo_plan import ENTERPRISES, DemoEnterprise, readings
from devtools.demo_registers import (
    NEW_METER_REGISTER,
    OPENING_REGISTER,
    REPLACED_AT_SEQ,
    signed_readings,
)
from terminal.client import SignedRecord, Terminal
from verifier.protocol.registers import continuity_problem, meter_reading
from verifier.protocol.typed_data import Domain

DOMAIN = Domain(1337, "0x" + "11" * 20)
GLASS = next(e for e in ENTERPRISES if e.key == "glass")
STEEL = next(e for e in ENTERPRISES if e.key == "steel")
FURNACE = GLASS.source_identifier("furnace-ng-meter")
FORKLIFTS = GLASS.source_identifier("forklifts")


def _signed(sources: set[str], enterprise: DemoEnterprise = GLASS) -> dict[str, list[SignedRecord]]:
    """The demo's signing of the named sources' month, one terminal each, by source."""
    plan = [r for r in readings(enterprise) if r.source in sources]
    terminals = {s: Terminal.create() for s in sources}
    signed: dict[str, list[SignedRecord]] = defaultdict(list)
    for record in sign_plan(DOMAIN, enterprise, terminals, plan):
        signed[record.record.source].append(record)
    return signed


def test_register_readings_keep_the_quantities_and_pass_ingest_continuity() -> None:
    plan = [r for r in readings(GLASS) if r.source in (FURNACE, FORKLIFTS)]
    signed = _signed({FURNACE, FORKLIFTS})
    for source, records in signed.items():
        expected = [r.quantity for r in plan if r.source == source]
        assert [s.record.quantity for s in records] == expected
        previous = None
        for s in records:
            current = meter_reading(s.record, s.attributes)
            assert current is not None
            assert continuity_problem(previous, current) is None, s.record.seq
            previous = current


def test_the_furnace_meter_is_replaced_once_and_its_registers_are_worked_out() -> None:
    furnace = _signed({FURNACE})[FURNACE]
    attributes = {s.record.seq: s.attributes for s in furnace}
    assert len(furnace) == 721 and REPLACED_AT_SEQ == 361
    assert attributes[1] == {
        "register": str(OPENING_REGISTER + 415),
        "registerEpoch": 0,
        "registerOpening": str(OPENING_REGISTER),
    }
    # Seqs 1-360 all read 415 on the old meter.
    assert attributes[360] == {"register": str(1_000_000_000 + 360 * 415), "registerEpoch": 0}
    assert attributes[361] == {
        "register": str(NEW_METER_REGISTER + 415),
        "registerEpoch": 1,
        "registerOpening": str(NEW_METER_REGISTER),
    }
    # The new meter: seqs 361-520 read 415 (160), 521-720 read 414 (200), then the closing 414.
    assert attributes[720] == {"register": str(160 * 415 + 200 * 414), "registerEpoch": 1}
    assert attributes[721] == {"register": str(160 * 415 + 201 * 414), "registerEpoch": 1}
    assert 360 * 415 + 160 * 415 + 200 * 414 == 298_600


def test_other_enterprises_sign_without_registers() -> None:
    source = STEEL.source_identifier("grid-intake")
    records = _signed({source}, STEEL)[source]
    assert len(records) == 721
    assert all(s.attributes is None for s in records)


def test_signed_readings_counts_records_edges_and_register_readings() -> None:
    reading = {"record": {}, "batch": 0}
    bundle = {
        "records": [{}, {}, {}],
        "devices": [{"before": None, "after": {}}, {"before": {}, "after": {}}],
        "registers": {
            "batches": [],
            "devices": [
                {
                    "before": None,
                    "first": reading,
                    "changes": [{"end": reading, "start": reading}],
                    "last": reading,
                    "after": reading,
                }
            ],
        },
    }
    # 3 records, 3 edge readings, and first, one change pair, last and after: 5.
    assert signed_readings(bundle) == 3 + 3 + 5
