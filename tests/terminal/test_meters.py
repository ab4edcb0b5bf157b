"""Meters as they are, without processes: registers into readings, and the outbox's numbering.

Every cumulative chain the gateway produces is fed to the ledger's own continuity rule
(``verifier.protocol.registers.continuity_problem``), so a reading the ledger would refuse
fails here first.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from terminal.client import Terminal
from terminal.gateway.config import ConfigError, Point, parse
from terminal.gateway.meters import PointState, Reading, Sample, step
from terminal.gateway.outbox import Outbox, OutboxFull
from tests.terminal.points import BASE, DOMAIN, METER, config, point
from verifier.protocol.registers import MeterReading, continuity_problem, reading_of


def run(p: Point, samples: list[tuple[float, str]]) -> tuple[list[Reading], list[str | None]]:
    state, readings, events = PointState(), [], []
    for when, value in samples:
        done = step(p, state, Sample(p.name, when, Decimal(value)))
        state = done.state
        events.append(done.event)
        if done.reading:
            readings.append(done.reading)
    return readings, events


def assert_ledger_continuity(p: Point, readings: list[Reading]) -> None:
    previous: MeterReading | None = None
    for r in readings:
        current = reading_of((p.activity, p.source, p.unit, p.decimals), r.quantity, r.attributes)
        assert current is not None
        assert continuity_problem(previous, current) is None, (previous, current)
        previous = current


def test_a_register_becomes_a_chain_of_readings_the_ledger_accepts() -> None:
    p = point()
    readings, events = run(p, [(100.2, "10.00"), (101.1, "10.50"), (101.7, "10.75"), (103, "12")])
    assert events == ["baseline", None, "coalesced", None]
    # 10.50 - 10.00, then 12.00 - 10.50 (10.75 within the same second waits for the next cut)
    assert [(r.start, r.end, r.quantity) for r in readings] == [(100, 101, 50), (101, 103, 150)]
    assert readings[0].attributes == {
        "register": "1050",
        "registerEpoch": 0,
        "registerOpening": "1000",
    }
    assert readings[1].attributes == {"register": "1200", "registerEpoch": 0}
    assert_ledger_continuity(p, readings)


def test_a_wrapping_counter_is_unwrapped_never_negative() -> None:
    p = point()  # uint32 counts of 0.01 kWh: the register wraps at 2^32 counts
    top = Decimal(2**32 - 300) / 100
    readings, events = run(p, [(1, str(top)), (2, "2.00")])
    assert events == ["baseline", "rollover"]
    assert readings[0].quantity == 300 + 200
    assert readings[0].attributes["register"] == str(2**32 + 200)
    assert_ledger_continuity(p, readings)


def test_a_swapped_meter_opens_a_new_epoch_and_the_gap_is_not_invented() -> None:
    p = point()
    samples = [(1, "500.00"), (2, "501.00"), (3, "3.00"), (4, "4.50"), (5, "6.00")]
    readings, events = run(p, samples)
    assert events == ["baseline", None, "meter_replaced", None, None]
    assert [r.quantity for r in readings] == [100, 150, 150]  # nothing for 2 s..3 s
    assert readings[1].attributes == {
        "register": "450",
        "registerEpoch": 1,
        "registerOpening": "300",
    }
    assert readings[1].start == 3
    assert_ledger_continuity(p, readings)


def test_a_redelivered_older_sample_never_opens_an_epoch() -> None:
    p = point(type="float32")  # no wrap for a float register
    readings, events = run(p, [(10, "5.00"), (20, "6.00"), (15, "5.50"), (30, "7.00")])
    assert events == ["baseline", None, "stale", None]
    assert [r.quantity for r in readings] == [100, 100]
    assert_ledger_continuity(p, readings)


@pytest.mark.parametrize("value", ["NaN", "-1", "Infinity"])
def test_a_bad_value_is_reported_and_changes_nothing(value: str) -> None:
    readings, events = run(point(), [(1, "1.00"), (2, value), (3, "2.00")])
    assert events == ["baseline", "bad_value", None]
    assert [(r.start, r.quantity) for r in readings] == [(1, 100)]


def test_an_interval_meter_counts_each_interval_once() -> None:
    p = point(kind="interval", interval_s=60)
    state, out = PointState(), []
    for when, value in [(120, "1.5"), (180, "2.5"), (180, "2.5"), (170, "9"), (240, "1")]:
        done = step(p, state, Sample(p.name, when, Decimal(value)))
        state = done.state
        out.append((done.event, done.reading and (done.reading.start, done.reading.quantity)))
    assert out == [
        (None, (60, 150)),
        (None, (120, 250)),
        ("duplicate", None),  # the broker delivered it again
        ("duplicate", None),
        (None, (180, 100)),
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (config(poll_secs=1), "modbus[0].points[0].poll_secs"),
        (config(kind="estimated"), "modbus[0].points[0].kind"),
        (config(kind="interval"), "modbus[0].points[0].interval_s"),
        (config(name="../etc"), "modbus[0].points[0].name"),
        (config(rollover="0.001"), "modbus[0].points[0].rollover"),
        (config(scale=0.5), "modbus[0].points[0].scale"),
        ({**BASE, "mqtt": {"client_id": "g", "points": [{**METER, "kind": "interval"}]}}, ""),
    ],
)
def test_configuration_mistakes_are_refused_with_their_key(data: dict, field: str) -> None:
    if not field:  # an MQTT interval meter needs its own time, or a redelivery counts twice
        data["mqtt"]["points"][0] = {
            k: v for k, v in data["mqtt"]["points"][0].items() if k not in ("address", "type")
        } | {"topic": "t"}
        field = "mqtt.points[0].time_key"
    with pytest.raises(ConfigError) as refused:
        parse(data, Path("."))
    assert refused.value.field == field


def test_two_registers_for_one_source_and_activity_are_refused() -> None:
    data = config()
    data["modbus"][0]["points"].append({**METER, "name": "m2", "address": 2})
    with pytest.raises(ConfigError, match="two cumulative meters"):
        parse(data, Path("."))


def outbox(tmp_path: Path, max_records: int = 100) -> tuple[Outbox, Point, Terminal]:
    terminal = Terminal.create()
    box = Outbox(tmp_path / "o.sqlite3", {"m": terminal}, "88.118.8/E", max_records)
    box.set_domain(DOMAIN)
    box.resume(terminal.address, None)
    return box, point(), terminal


def reading(n: int) -> Reading:
    return Reading("m", 1_700_000_000 + n, 1_700_000_001 + n, 5, None)


def test_outbox_numbers_without_gaps_across_reopening(tmp_path: Path) -> None:
    box, p, terminal = outbox(tmp_path)
    box.record({"m": p}, {"m": PointState(0, 1, 2, False, 1)}, [reading(0), reading(1)])
    box.close()
    again = Outbox(tmp_path / "o.sqlite3", {"m": terminal}, "88.118.8/E", 100)
    assert again.domain == DOMAIN and again.states()["m"] == PointState(0, 1, 2, False, 1)
    again.record({"m": p}, {}, [reading(2)])
    pending = again.pending(10)
    assert pending is not None
    assert [int(b.split('"seq":"')[1].split('"')[0]) for b in pending.bodies] == [1, 2, 3]


def test_resume_drops_what_the_ledger_holds_and_numbers_above_it(tmp_path: Path) -> None:
    box, p, terminal = outbox(tmp_path)
    box.record({"m": p}, {}, [reading(n) for n in range(3)])
    assert box.resume(terminal.address, 2) == (2, 4)  # seq 1 and 2 arrived; their ack did not
    assert box.depth == 1
    # A ledger ahead of this outbox (a restored key, a rotation): numbering continues above it.
    assert box.resume(terminal.address, 10) == (1, 11)


def test_a_full_outbox_refuses_the_whole_group(tmp_path: Path) -> None:
    box, p, _ = outbox(tmp_path, max_records=2)
    with pytest.raises(OutboxFull):
        box.record({"m": p}, {"m": PointState(0, 9, 9, False, 9)}, [reading(n) for n in range(3)])
    assert box.depth == 0 and box.states() == {}


def test_a_rotated_key_restarts_the_register_chain_with_an_opening(tmp_path: Path) -> None:
    box, p, _ = outbox(tmp_path)
    box.record({"m": p}, {"m": PointState(0, 700, 9, False, 700)}, [])
    box.close()
    rotated = Outbox(tmp_path / "o.sqlite3", {"m": Terminal.create()}, "88.118.8/E", 100)
    assert rotated.states()["m"] == PointState(0, 700, 9, True, 700)
