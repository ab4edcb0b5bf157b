"""Real processes around the gateway: a Mosquitto broker, the Modbus meter bank, the gateway
itself, and the ledger registrations a gateway needs."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import rfc8785
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client.parser import text_string_to_metric_families
from pymodbus.client import ModbusTcpClient

from devtools.local_server import ServerProcess, free_port
from devtools.seeding import enterprise_key, sign_registry
from terminal.client import Terminal

REPO = Path(__file__).resolve().parents[2]
UINT32 = ModbusTcpClient.DATATYPE.UINT32
BIN = Path(sys.executable).parent
PASSPHRASE = "gateway test passphrase"


def wait_until(probe: Any, what: str, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes] | None, kill: bool = False) -> None:
    if process is None or process.poll() is not None:
        return
    if kill:
        process.kill()
    else:
        process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Publisher:
    """A meter's MQTT client: QoS 1, every publish confirmed by the broker."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"meter-{port}")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic: str, payload: dict[str, Any] | str) -> None:
        body = payload if isinstance(payload, str) else rfc8785.dumps(payload).decode()
        self.client.publish(topic, body, qos=1).wait_for_publish(30)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class MeterBank:
    """The Modbus register bank process (tests/terminal/modbus_meter.py)."""

    folder: Path
    inputs: dict[int, list[int]] = field(default_factory=dict)  # input registers, fixed
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self, values: dict[int, int]) -> None:
        args = [f"--value={a}={v}" for a, v in values.items()]
        args += [f"--input={a}={','.join(map(str, w))}" for a, w in self.inputs.items()]
        log = (self.folder / "modbus.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.terminal.modbus_meter", str(self.port), *args],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: self._client().connect(), "the Modbus meters", 30)

    def _client(self) -> ModbusTcpClient:
        return ModbusTcpClient("127.0.0.1", port=self.port, timeout=2, retries=1)

    def write(self, address: int, value: int) -> None:
        self.write_words(address, self._client().convert_to_registers(value, UINT32))

    def write_words(self, address: int, words: list[int]) -> None:
        client = self._client()
        try:
            assert client.connect()
            assert not client.write_registers(address, words, device_id=1).isError()
        finally:
            client.close()

    def stop(self) -> None:
        _stop(self.process, kill=True)


def enrol(ledger: ServerProcess, enterprise: str, industry: str, terminals: dict[str, str]) -> str:
    """Register the enterprise, its sources and one terminal per source ({source: address}),
    as operations the enterprise signs; return an API key of a terminal principal held to the
    enterprise (the gateway submits for all its meter points with it)."""
    body = {
        "identifier": enterprise,
        "name": enterprise,
        "industry": industry,
        "signer": enterprise_key(enterprise).address,
    }
    assert ledger.post("/v1/enterprises", json=body).status_code == 201
    changes: list[tuple[str, str, dict[str, Any]]] = [
        ("source.registered", s, {"name": s.rsplit("/", 1)[-1], "metadata": None})
        for s in terminals
    ]
    changes += [
        ("device.registered", address, {"sources": [s], "metadata": None, "firstSeq": 1})
        for s, address in terminals.items()
    ]
    answer = sign_registry(ledger, enterprise, changes)
    assert answer.status_code == 201, answer.text
    name = enterprise.rsplit("/", 1)[-1].lower() + "-gateway"
    key = ledger.post(
        "/v1/principals", json={"name": name, "role": "terminal", "enterprise": enterprise}
    ).json()
    return key.get("key", key)["token"]


@dataclass
class Gateway:
    """``carbon-terminal run`` as a child process, with its config, key and state in
    ``folder``."""

    folder: Path
    config: Path
    status_port: int
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def prepare(
        cls, folder: Path, config_text: str, points: list[str]
    ) -> tuple[Gateway, dict[str, Terminal]]:
        """The gateway's folder: its config and one keystore per meter point."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "passphrase").write_text(PASSPHRASE + "\n")
        # A cheap scrypt for throwaway test keys; the gateway decrypts whatever it finds.
        terminals = {
            p: Terminal.load_or_create(folder / "keys" / f"{p}.json", PASSPHRASE, scrypt_n=2**10)
            for p in points
        }
        port = free_port()
        config = folder / "gateway.toml"
        config.write_text(config_text.replace("STATUS_PORT", str(port)))
        return cls(folder, config, port), terminals

    def start(self) -> None:
        log = (self.folder / "gateway.log").open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "carbon-terminal"), "run", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        wait_until(self.metrics, "the gateway's status endpoint", 30)

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"gateway exited:\n{self.log()[-3000:]}")
        try:
            text = httpx.get(f"http://127.0.0.1:{self.status_port}/metrics", timeout=2).text
        except httpx.TransportError:
            return None
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def metric(self, name: str, **labels: str) -> float | None:
        found = self.metrics() or {}
        return found.get((name, tuple(sorted(labels.items()))))

    def log(self) -> str:
        return (self.folder / "gateway.log").read_text(errors="replace")

    def stop(self, kill: bool = False) -> None:
        _stop(self.process, kill=kill)
