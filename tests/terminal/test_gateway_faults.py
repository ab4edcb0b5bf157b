"""The gateway against real processes: Mosquitto, a Modbus meter bank, the ledger and ganache.

Each test breaks something the way a plant does — the gateway killed with SIGKILL while it
drains a backlog, the ledger down for a while, the broker restarted, a meter gone, a counter
wrapping, a meter swapped — and then checks the same end state: every meter sample is exactly
one stored, anchored record, and the quantities add up to what the meters counted.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.anchor_contract import AnchorContract
from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.demo_gateway import Broker
from devtools.local_server import ServerProcess, start_server
from devtools.seeding import sign_registry
from terminal.client import Terminal
from terminal.gateway.config import parse
from terminal.gateway.daemon import main
from terminal.gateway.forwarder import Forwarder, Ledger
from terminal.gateway.health import Metrics
from terminal.gateway.meters import Reading
from terminal.gateway.outbox import Outbox
from terminal.gateway.sources import ModbusPoller
from tests.conftest import server_env
from tests.processes.fault_helpers import kill9, query, start_anchor
from tests.terminal.plant import BIN, PASSPHRASE, Gateway, MeterBank, Publisher, enrol, wait_until

ENTERPRISE = "88.118.8/CL-ENT-GW-FAULTS"
FURNACE = "88.118.8/CL-SRC-GW-FURNACE"  # Modbus: a uint32 energy register, 0.01 kWh a count
BOILER = "88.118.8/CL-SRC-GW-BOILER"  # MQTT: a gas meter's cumulative register, JSON
LINE = "88.118.8/CL-SRC-GW-LINE"  # MQTT: an interval meter, JSON with its interval's end
GAS_TOPIC = "plant/boiler/gas"
LINE_TOPIC = "plant/line/energy"
SCALE = Decimal("0.01")
WRAP = 2**32
INPUTS = {48: [0x4093, 0x4A00, 0, 0], 56: [0xFFFF, 0xFFFB]}  # float64 1234.5; int32 -5
METER_POINT = {
    "name": "decode",
    "source": FURNACE,
    "activity": "electricity.purchased",
    "unit": "kWh",
    "kind": "cumulative",
    "address": 40,
}
POINTS = {"boiler-gas": BOILER, "line-energy": LINE, "furnace-energy": FURNACE}
T0 = 1_780_000_000  # the MQTT meters' own clock: 2026-05-28, one reading a minute

CONFIG = """
[ledger]
url = "{ledger}"
api_key_file = "api_key"

[terminal]
enterprise = "{enterprise}"
passphrase_file = "passphrase"

[outbox]
dir = "state"
batch_size = 20

[status]
port = STATUS_PORT

[mqtt]
port = {mqtt_port}
client_id = "gw-faults"

[[mqtt.points]]
name = "boiler-gas"
topic = "{gas_topic}"
source = "{boiler}"
activity = "fuel.natural_gas"
unit = "Nm3"
decimals = 1
kind = "cumulative"
time_key = "t"

[[mqtt.points]]
name = "line-energy"
topic = "plant/+/energy"
source = "{line}"
activity = "electricity.purchased"
unit = "kWh"
decimals = 2
kind = "interval"
interval_s = 60
time_key = "t"

[[modbus]]
name = "furnace-meter"
host = "127.0.0.1"
port = {modbus_port}
poll_s = 0.2

[[modbus.points]]
name = "furnace-energy"
address = 0
type = "uint32"
scale = "0.01"
source = "{furnace}"
activity = "electricity.purchased"
unit = "kWh"
decimals = 2
kind = "cumulative"
"""


@dataclass
class Plant:
    ledger: ServerProcess
    data_dir: Path
    env: dict[str, str]
    contract: str
    broker: Broker
    meters: MeterBank
    gateway: Gateway
    publisher: Publisher
    gas: list[tuple[int, Decimal]] = field(default_factory=list)  # (meter time, register)
    line: list[tuple[int, Decimal]] = field(default_factory=list)  # (interval end, kWh)
    furnace: list[list[int]] = field(default_factory=lambda: [[]])  # raw counts per meter

    @property
    def db(self) -> str:
        """The ledger's database URL, SQLite or PostgreSQL."""
        return self.ledger.database_url

    def publish_gas(self, register: Decimal) -> None:
        t = T0 + 60 * len(self.gas)
        self.publisher.publish(GAS_TOPIC, {"t": t, "value": str(register)})
        self.gas.append((t, register))

    def publish_line(self, kwh: Decimal) -> None:
        t = T0 + 60 * (len(self.line) + 1)
        self.publisher.publish(LINE_TOPIC, {"t": t, "value": str(kwh)})
        self.line.append((t, kwh))

    def set_furnace(self, count: int) -> None:
        """Write the furnace register and wait until the gateway has read it."""
        self.meters.write(0, count)
        self.furnace[-1].append(count)
        self.wait_read(count)

    def wait_read(self, count: int) -> None:
        wait_until(
            lambda: (
                self.gateway.metric("carbon_terminal_last_sample_value", point="furnace-energy")
                == float(count * SCALE)
            ),
            f"the gateway to read furnace count {count}",
        )

    def furnace_expected(self) -> int:
        """What the furnace meters counted while the gateway watched, in hundredths of kWh:
        per meter, its last count minus its first, unwrapped."""
        return sum(_unwrapped(c)[-1] - _unwrapped(c)[0] for c in self.furnace if c)

    def furnace_settled(self) -> None:
        """Wait until the furnace's last value is in a stored reading (the next whole second)."""
        wait_until(
            lambda: sum(r[3] for r in stored(self, FURNACE)) == self.furnace_expected(),
            "the furnace's readings to catch up",
        )


@pytest.fixture(scope="module")
def plant(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Plant]:
    tmp = tmp_path_factory.mktemp("gateway")
    record, _ = deploy(w3, operator_account, tmp / "deployments")
    with contextlib.ExitStack() as stack:
        ledger = start_server(tmp, server_env(tmp, dev_chain.rpc_url))
        processes: dict[str, subprocess.Popen[bytes] | None] = {"ledger": ledger.process}
        # Whatever the tests restart is stopped at the end, even if set-up fails half-way.
        stack.callback(lambda: _terminate(processes["ledger"]))
        broker = Broker(tmp / "broker")
        stack.callback(broker.stop)
        broker.start()
        meters = MeterBank(tmp, INPUTS)
        stack.callback(meters.stop)
        start_count = WRAP - 3_000  # 30 kWh below the wrap
        meters.start({0: start_count})
        text = CONFIG.format(
            ledger=ledger.base_url,
            enterprise=ENTERPRISE,
            mqtt_port=broker.port,
            gas_topic=GAS_TOPIC,
            boiler=BOILER,
            line=LINE,
            modbus_port=meters.port,
            furnace=FURNACE,
        )
        gateway, terminals = Gateway.prepare(tmp / "gw", text, list(POINTS))
        token = enrol(
            ledger,
            ENTERPRISE,
            "iron_steel",
            {source: terminals[point].address for point, source in POINTS.items()},
        )
        (gateway.folder / "api_key").write_text(token)
        args = ("--watch", "--interval", "0.5")
        anchor = start_anchor(tmp, dev_chain.rpc_url, *args, database_url=ledger.database_url)
        stack.callback(lambda: _terminate(anchor))
        stack.callback(gateway.stop)
        gateway.start()
        wait_until(lambda: gateway.metric("carbon_terminal_mqtt_subscribed"), "subscriptions")
        publisher = Publisher(broker.port)
        plant = Plant(ledger, tmp, ledger.env, record.address, broker, meters, gateway, publisher)
        stack.callback(lambda: plant.publisher.close())
        stack.callback(lambda: processes.update(ledger=plant.ledger.process))
        plant.furnace[-1].append(start_count)
        plant.wait_read(start_count)
        yield plant


def _terminate(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


def stored(plant: Plant, source: str) -> list[tuple[int, int, int, int, dict | None]]:
    """(seq, periodStart, periodEnd, quantity, attributes) of a source's records, by seq."""
    rows = query(
        plant.db,
        "select r.seq, r.period_start, r.period_end, r.quantity, r.attributes"
        " from activity_record r join emission_source s on s.id = r.source_id"
        " where s.identifier = :source order by r.seq",
        source=source,
    )
    return [(s, a, b, int(q), json.loads(x) if x else None) for s, a, b, q, x in rows]


def drained(plant: Plant) -> bool:
    return plant.gateway.metric("carbon_terminal_outbox_records") == 0


def assert_exactly_once(plant: Plant) -> None:
    """Every sample is one stored, anchored record; the quantities are what the meters counted."""
    # The gas meter: its first sample is the opening; each later one is exactly one record.
    wait_until(lambda: drained(plant) and len(stored(plant, BOILER)) == len(plant.gas) - 1, "gas")
    gas = stored(plant, BOILER)
    assert [(r[2], r[4]["register"]) for r in gas] == [
        (t, str(int(v * 10))) for t, v in plant.gas[1:]
    ]
    assert [Decimal(r[3]) / 10 for r in gas] == [
        b[1] - a[1] for a, b in zip(plant.gas, plant.gas[1:], strict=False)
    ]
    # The interval meter: one record per message, its own interval, its own quantity.
    wait_until(lambda: len(stored(plant, LINE)) == len(plant.line), "line")
    line = stored(plant, LINE)
    assert [(r[2], Decimal(r[3]) / 100) for r in line] == plant.line
    assert all(r[1] == r[2] - 60 for r in line[1:])
    # The furnace: a chain of registers with no gap and no overlap, adding up to the counts the
    # test wrote, unwrapped, per meter.
    plant.furnace_settled()
    furnace = stored(plant, FURNACE)
    for previous, record in itertools.pairwise(furnace):
        attributes = record[4]
        if attributes["registerEpoch"] == previous[4]["registerEpoch"]:
            assert record[1] == previous[2]  # contiguous in time
            assert "registerOpening" not in attributes
            gained = int(attributes["register"]) - int(previous[4]["register"])
        else:
            gained = int(attributes["register"]) - int(attributes["registerOpening"])
        assert record[3] == gained
    # Sequence numbers: each point's terminal, 1..n with no gap and no repeat.
    for source in POINTS.values():
        seqs = [r[0] for r in stored(plant, source)]
        assert seqs == list(range(1, len(seqs) + 1))
    assert_anchored(plant)


def assert_anchored(plant: Plant) -> None:
    """The anchoring worker (`carbon-ledger anchor --watch`) puts every record stored so far in
    a confirmed batch whose root the chain holds (the furnace keeps reading meanwhile)."""
    leaves = {h for (h,) in query(plant.db, "select leaf_hash from activity_record")}

    def confirmed() -> dict[str, tuple[str, str, int]] | None:
        rows = query(
            plant.db,
            "select l.hash, b.status, b.root, b.chain_batch_id from leaf l"
            " join anchor_batch b on b.id = l.batch_id where l.kind = 1",
        )
        found = {h: (status, root, chain_id) for h, status, root, chain_id in rows}
        done = leaves <= found.keys() and {found[h][0] for h in leaves} == {"confirmed"}
        return found if done else None

    batches = wait_until(confirmed, "the anchoring worker to confirm every stored record")
    contract = AnchorContract(_w3(plant), plant.contract)
    for root, chain_id in {(batches[h][1], batches[h][2]) for h in leaves}:
        onchain = contract.batch_of(bytes.fromhex(root[2:]))  # type: ignore[index]
        assert onchain is not None and onchain.batch_id == chain_id


def _unwrapped(counts: list[int]) -> list[int]:
    out = [counts[0]]
    for count in counts[1:]:
        step = count - out[-1] % WRAP
        out.append(out[-1] + (step if step >= 0 else step + WRAP))
    return out


def _w3(plant: Plant) -> Web3:
    from anchoring.connection import connect
    from anchoring.devchain import DEV_CHAIN_ID

    return connect(plant.env["CARBON_RPC_URL"], DEV_CHAIN_ID)


def test_counters_roll_over_and_a_swapped_meter_opens_a_new_epoch(plant: Plant) -> None:
    plant.publish_gas(Decimal("1000.0"))
    for count in (WRAP - 1_000, 500, 2_500):  # wraps past 2^32 between the first two
        plant.set_furnace(count)
    for i in range(5):
        plant.publish_gas(Decimal("1000.0") + Decimal("2.5") * (i + 1))
        plant.publish_line(Decimal("1.25") * (i + 1))
    # The meter is swapped (after its last reading): the new one starts near zero. Not a
    # negative reading: a new epoch, opened by the new meter's first value.
    plant.furnace_settled()
    plant.furnace.append([])
    for count in (40, 90, 1_090):
        plant.set_furnace(count)
    assert plant.gateway.metric(
        "carbon_terminal_events_total", point="furnace-energy", event="rollover"
    )
    replaced = plant.gateway.metric(
        "carbon_terminal_events_total", point="furnace-energy", event="meter_replaced"
    )
    assert replaced == 1
    assert_exactly_once(plant)
    epochs = [r[4]["registerEpoch"] for r in stored(plant, FURNACE)]
    assert epochs == sorted(epochs) and set(epochs) == {0, 1}


def test_a_meter_dropout_is_reported_and_loses_nothing(plant: Plant) -> None:
    plant.meters.stop()
    wait_until(
        lambda: (
            (
                plant.gateway.metric(
                    "carbon_terminal_events_total", point="furnace-energy", event="unreadable"
                )
                or 0
            )
            >= 3
        ),
        "unreadable polls to be reported",
    )
    # Back with what it counted meanwhile: one reading covers the whole dropout.
    plant.meters.start({0: 5_000})
    plant.furnace[-1].append(5_000)
    plant.set_furnace(5_100)
    assert_exactly_once(plant)


def test_ledger_outage_then_kill9_mid_drain_loses_and_duplicates_nothing(plant: Plant) -> None:
    plant.ledger.process.terminate()
    plant.ledger.process.wait(timeout=30)
    for i in range(300):
        plant.publish_line(Decimal("0.01") * (i % 7 + 1))
    plant.publish_gas(plant.gas[-1][1] + Decimal("7.5"))
    plant.set_furnace(5_600)
    wait_until(
        lambda: (plant.gateway.metric("carbon_terminal_outbox_records") or 0) >= 300,
        "the backlog to be signed into the outbox",
    )
    # The ledger comes back on its port; the gateway is killed while it drains in batches.
    port = plant.ledger.base_url.rsplit(":", 1)[1]
    with (plant.data_dir / "server.log").open("ab") as log:
        restarted = subprocess.Popen(
            [str(BIN / "carbon-ledger"), "serve", "--port", port],
            env=plant.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    plant.ledger = ServerProcess(
        restarted,
        plant.ledger.base_url,
        plant.env,
        plant.ledger.log_file,
        plant.ledger.token,
        database_url=plant.ledger.database_url,
    )
    wait_until(
        lambda: (plant.gateway.metric("carbon_terminal_outbox_records") or 300) < 300,
        "the drain to begin",
    )
    assert (plant.gateway.metric("carbon_terminal_outbox_records") or 0) > 0  # still draining
    kill9(plant.gateway.process)  # type: ignore[arg-type]
    plant.publish_line(Decimal("3.33"))  # queued by the broker for the gateway's session
    plant.gateway.start()
    plant.set_furnace(6_000)
    assert_exactly_once(plant)


def test_broker_restart_keeps_the_session(plant: Plant) -> None:
    plant.publisher.close()
    plant.broker.stop()
    plant.set_furnace(6_500)  # Modbus keeps going without the broker
    plant.broker.start()
    plant.publisher = Publisher(plant.broker.port)
    for i in range(3):
        plant.publish_line(Decimal("0.5") * (i + 1))
        plant.publish_gas(plant.gas[-1][1] + Decimal("1.0"))
    assert_exactly_once(plant)


@pytest.mark.parametrize(
    ("kind", "table", "words", "word_order", "value"),
    [
        # 1234.5 as an IEEE float32 (0x449A5000), low word first
        ("float32", "holding", [0x5000, 0x449A], "little", Decimal("1234.5")),
        ("float64", "input", INPUTS[48], "big", Decimal("1234.5")),
        ("uint64", "holding", [0, 1, 0, 2], "big", Decimal(2**32 + 2)),
        ("int32", "input", INPUTS[56], "big", Decimal(-5)),
        ("uint16", "holding", [0xFFFF], "big", Decimal(65_535)),
    ],
)
def test_register_maps_decode_as_the_meter_meant(
    plant: Plant, kind: str, table: str, words: list[int], word_order: str, value: Decimal
) -> None:
    """The register types and word orders of real meters, read from the Modbus process."""
    address = next((a for a, w in INPUTS.items() if w == words), 40)
    if table == "holding":
        plant.meters.write_words(address, words)
    raw = {
        **METER_POINT,
        "address": address,
        "table": table,
        "type": kind,
        "word_order": word_order,
    }
    config = parse(
        {
            "ledger": {"url": "http://x", "api_key_file": "k"},
            "terminal": {"enterprise": ENTERPRISE},
            "modbus": [
                {"name": "d", "host": "127.0.0.1", "port": plant.meters.port, "points": [raw]}
            ],
        },
        Path("."),
    )
    poller = ModbusPoller(config.modbus[0], lambda *_: None, Metrics())
    try:
        assert poller.client.connect()
        assert poller._read(config.points[0]) == value
    finally:
        poller.client.close()


def test_carbon_terminal_refuses_an_unknown_setting(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    fields = ("ledger", "enterprise", "mqtt_port", "gas_topic", "boiler", "line")
    text = CONFIG.format(**dict.fromkeys(fields, "1"), modbus_port=502, furnace="x")
    config.write_text(text.replace("STATUS_PORT", "1").replace("poll_s = 0.2", "poll_secs = 0.2"))
    with pytest.raises(SystemExit) as refused:
        main(["check", str(config)])
    assert "modbus[0].poll_secs: is not a known setting" in str(refused.value)


SMELTER = "88.118.8/CL-ENT-GW-SMELTER"
GRID = "88.118.8/CL-SRC-GW-SMELTER-GRID"
DAY_CST = 1_748_793_600  # 2025-06-02T00:00:00+08:00
GRID_FACTOR = Decimal("0.5366")  # tCO2/MWh, MEE 2022 national grid (no region registered)
SMELTER_CONFIG = """
[ledger]
url = "{ledger}"
api_key_file = "api_key"

[terminal]
enterprise = "{enterprise}"
passphrase_file = "passphrase"

[status]
port = STATUS_PORT

[mqtt]
port = {mqtt_port}
client_id = "gw-smelter"

[[mqtt.points]]
name = "grid"
topic = "smelter/grid"
source = "{grid}"
activity = "electricity.purchased"
unit = "kWh"
decimals = 0
kind = "cumulative"
time_key = "t"
"""


def test_a_figure_over_the_period_is_what_the_meters_counted(plant: Plant) -> None:
    """A smelter's data logger replays a day of hourly register values (a meter swapped at
    10:30) through a second gateway; the ledger's evaluation of that day equals the energy
    the two meters counted inside it, times the grid factor."""
    text = SMELTER_CONFIG.format(
        ledger=plant.ledger.base_url, enterprise=SMELTER, mqtt_port=plant.broker.port, grid=GRID
    )
    gateway, terminals = Gateway.prepare(plant.data_dir / "smelter", text, ["grid"])
    token = enrol(plant.ledger, SMELTER, "aluminium", {GRID: terminals["grid"].address})
    (gateway.folder / "api_key").write_text(token)
    gateway.start()
    try:
        wait_until(lambda: gateway.metric("carbon_terminal_mqtt_subscribed"), "subscriptions")
        old_meter = [(h, 5_000 + 350 * h) for h in range(0, 11)]  # read at 00:00 … 10:00
        new_meter = [(h, 20 + 500 * (h - 11)) for h in range(11, 26)]  # 11:00 … next day 01:00
        for hour, register in old_meter + new_meter:
            plant.publisher.publish(
                "smelter/grid", {"t": DAY_CST + 3_600 * hour, "value": register}
            )
        # Inside the day: the old meter from its 00:00 value to its last, the new one from its
        # first value (11:00, the opening of epoch 1) to 24:00. 10:00-11:00 is unmetered.
        in_day = [(h, r) for h, r in new_meter if h <= 24]
        kwh = (old_meter[-1][1] - old_meter[0][1]) + (in_day[-1][1] - in_day[0][1])
        expected = Decimal(kwh) / 1_000 * GRID_FACTOR
        wait_until(lambda: len(stored(plant, GRID)) == len(old_meter) + len(new_meter) - 2, "grid")
        assert_anchored(plant)
        replaced = gateway.metric(
            "carbon_terminal_events_total", point="grid", event="meter_replaced"
        )
        assert replaced == 1
    finally:
        gateway.stop()
    body = {
        "enterprise": SMELTER,
        "periodStart": "2025-06-02",
        "periodEnd": "2025-06-02",
        "addedValue": "10",
        "ruleset": "zj-huzhou-2021",
    }
    evaluation = plant.ledger.post("/v1/evaluations", json=body)
    assert evaluation.status_code == 201, evaluation.text
    assert Decimal(evaluation.json()["total"]) == expected


def test_a_batch_resent_after_a_lost_answer_is_accepted_as_duplicates(
    plant: Plant, tmp_path: Path
) -> None:
    """The ledger stored a batch but the gateway never heard: the same outbox sends it again,
    the ledger answers 200 with every record a duplicate, and the outbox lets them go."""
    source, key = "88.118.8/CL-SRC-GW-RESEND", Terminal.create()
    changes = [
        ("source.registered", source, {"name": "resend", "metadata": None}),
        ("device.registered", key.address, {"sources": [source], "metadata": None, "firstSeq": 1}),
    ]
    assert sign_registry(plant.ledger, ENTERPRISE, changes).status_code == 201
    raw = {k: v for k, v in METER_POINT.items() if k != "address"}
    raw |= {"name": "resend", "source": source, "kind": "interval"}
    point = parse(
        {
            "ledger": {"url": "http://x", "api_key_file": "k"},
            "terminal": {"enterprise": ENTERPRISE},
            "mqtt": {"client_id": "x", "points": [{**raw, "topic": "t", "time_key": "t"}]},
        },
        Path("."),
    ).points[0]
    outbox = Outbox(tmp_path / "outbox.sqlite3", {"resend": key}, ENTERPRISE, 100)
    outbox.set_domain(plant.ledger.ledger_client().domain())
    outbox.resume(key.address, None)
    readings = [
        Reading("resend", T0 + 60 * n, T0 + 60 * (n + 1), 1_000 + n, None) for n in range(3)
    ]
    outbox.record({"resend": point}, {}, readings)
    # The outbox as it is on disk now: what a gateway whose answer is lost still holds.
    with sqlite3.connect(tmp_path / "lost-answer.sqlite3") as copy:
        outbox._db.backup(copy)
    token = (plant.gateway.folder / "api_key").read_text()

    def forward(path: Path) -> tuple[Outbox, Metrics]:
        box = Outbox(path, {"resend": key}, ENTERPRISE, 100)
        metrics = Metrics()
        forwarder = Forwarder(box, Ledger(plant.ledger.base_url, token, metrics, 30), metrics, 10)
        forwarder.resumed = True  # a resend within one run: no restart, no resume
        assert forwarder._once() == 0.0
        return box, metrics

    first, metrics = forward(tmp_path / "outbox.sqlite3")
    assert first.depth == 0
    assert (
        metrics.registry.get_sample_value(
            "carbon_terminal_forwarded_records_total", {"result": "stored"}
        )
        == 3
    )
    again, metrics = forward(tmp_path / "lost-answer.sqlite3")
    assert again.depth == 0
    assert (
        metrics.registry.get_sample_value(
            "carbon_terminal_forwarded_records_total", {"result": "duplicate"}
        )
        == 3
    )
    assert [r[0] for r in stored(plant, source)] == [1, 2, 3]


def test_no_key_token_or_passphrase_reaches_the_log(plant: Plant) -> None:
    log = plant.gateway.log()
    token = (plant.gateway.folder / "api_key").read_text().strip()
    assert '"event": "resumed"' in log  # the log is there and is JSON
    assert token not in log and PASSPHRASE not in log and "ciphertext" not in log
