"""The demo's gateway step: a plant's meters reach the ledger over MQTT through
``carbon-terminal`` instead of the in-process client.

A sixth, small enterprise (a compressor station) has three meters — grid electricity,
natural gas and steam-plant electricity — whose data logger publishes a day of hourly register
values to a Mosquitto broker. The gateway (a real ``carbon-terminal run`` process) signs each
reading with its point's terminal key, keeps it in its outbox and forwards it; the demo waits
until the ledger holds every reading, and the main flow anchors them with the rest. Runs only
where Debian's mosquitto is installed (``make demo`` installs it). A second run publishes the
same values again: the gateway recognises them (its outbox state lives under the data
directory) and the ledger's count does not change.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import rfc8785
from paho.mqtt.enums import CallbackAPIVersion

from devtools.local_server import ServerProcess, free_port
from devtools.seeding import enterprise_key, sign_registry
from ledger_api.commands.runtime import console
from ledger_api.core.config import Settings
from terminal.client import Terminal

ENTERPRISE = "88.118.8/CL-ENT-GATEWAY-01"
DAY_CST = 1_748_793_600  # 2025-06-02T00:00:00+08:00
# point: (source, activity, unit, decimals, opening register, hourly increase)
METERS: dict[str, tuple[str, str, str, int, int, int]] = {
    "grid": ("88.118.8/CL-SRC-GATEWAY-01-GRID", "electricity.purchased", "kWh", 0, 81_200, 950),
    "gas": ("88.118.8/CL-SRC-GATEWAY-01-GAS", "fuel.natural_gas", "Nm3", 1, 402_115, 1_225),
    "steam": ("88.118.8/CL-SRC-GATEWAY-01-STEAM", "electricity.purchased", "MWh", 3, 7_030, 125),
}
HOURS = 25  # 00:00 … 24:00: the opening, then a reading an hour; the last closes the day


@dataclass
class Broker:
    """Debian's mosquitto on its own loopback port, config and persistence in ``folder``."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def binary() -> str | None:
        return shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").is_file() else None
        )

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "mosquitto.conf"
        # As root, mosquitto drops to its own user unless told to stay: the folder is ours.
        user = pwd.getpwuid(os.getuid()).pw_name
        config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nuser {user}\n"
            f"persistence true\npersistence_location {self.folder}/\n"
            "max_queued_messages 0\nmax_inflight_messages 100\n"
        )
        log = (self.folder / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary() or "mosquitto", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        _wait(self._answers, "mosquitto to listen", 15)

    def _answers(self) -> bool:
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        try:
            client.connect("127.0.0.1", self.port)
        except OSError:
            return False
        client.disconnect()
        return True

    def stop(self) -> None:
        """SIGTERM: mosquitto writes its persistence file on the way out."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


def _wait(probe: Any, what: str, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def _keys(folder: Path) -> dict[str, Terminal]:
    """One keystore per meter point (a cheap scrypt: throwaway dev keys)."""
    passphrase = folder / "passphrase"
    if not passphrase.is_file():
        passphrase.touch(mode=0o600)
        passphrase.write_text(secrets.token_urlsafe(24))
    secret = passphrase.read_text()
    return {
        p: Terminal.load_or_create(folder / "keys" / f"{p}.json", secret, scrypt_n=2**12)
        for p in METERS
    }


def _register(server: ServerProcess, keys: dict[str, Terminal]) -> str:
    """Enrol the station, its sources and one terminal per meter (what exists is kept); a
    fresh terminal API key for the gateway."""
    with server.client(timeout=60) as http:
        body = {
            "identifier": ENTERPRISE,
            "name": "压缩机站 Compressor station",
            "industry": "chemicals",
            "signer": enterprise_key(ENTERPRISE).address,
        }
        answer = http.post("/v1/enterprises", json=body)
        if answer.status_code not in (201, 409):
            raise RuntimeError(f"gateway enterprise: {answer.text}")
        known = {s["identifier"] for s in http.get(f"/v1/enterprises/{ENTERPRISE}/sources").json()}
        changes: list[tuple[str, str, dict[str, Any]]] = [
            ("source.registered", m[0], {"name": p, "metadata": None})
            for p, m in METERS.items()
            if m[0] not in known
        ]
        changes += [
            (
                "device.registered",
                keys[p].address,
                {"sources": [m[0]], "metadata": None, "firstSeq": 1},
            )
            for p, m in METERS.items()
            if http.get(f"/v1/devices/{keys[p].address}").status_code == 404
        ]
        if changes:
            answer = sign_registry(server, ENTERPRISE, changes)
            if answer.status_code != 201:
                raise RuntimeError(f"gateway registry: {answer.text}")
        name = "gateway-station"
        principal = {"name": name, "role": "terminal", "enterprise": ENTERPRISE}
        answer = http.post("/v1/principals", json=principal)
        if answer.status_code == 409:
            answer = http.post(f"/v1/principals/{name}/keys", json={"label": "demo"})
        key = answer.json()
        return key.get("key", key)["token"]


def _device(source: str) -> dict[str, Any]:
    return {"sources": [source], "metadata": None, "firstSeq": 1}


def _config(folder: Path, ledger: str, mqtt_port: int, status_port: int) -> Path:
    points = "".join(
        f'\n[[mqtt.points]]\nname = "{p}"\ntopic = "station/{p}"\nsource = "{m[0]}"\n'
        f'activity = "{m[1]}"\nunit = "{m[2]}"\ndecimals = {m[3]}\nkind = "cumulative"\n'
        'time_key = "t"\n'
        for p, m in METERS.items()
    )
    config = folder / "gateway.toml"
    config.write_text(
        f'[ledger]\nurl = "{ledger}"\napi_key_file = "api_key"\n\n'
        f'[terminal]\nenterprise = "{ENTERPRISE}"\npassphrase_file = "passphrase"\n\n'
        f"[status]\nport = {status_port}\n\n"
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "demo-station-gateway"\n{points}'
    )
    return config


def _publish(port: int) -> None:
    """The station's data logger: each meter's register, hour by hour, on its own clock."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="station-logger")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for hour in range(HOURS):
            for point, (_, _, _, decimals, opening, step) in METERS.items():
                value = Decimal(opening + step * hour).scaleb(-decimals)
                body = {"t": DAY_CST + 3_600 * hour, "value": str(value)}
                client.publish(f"station/{point}", rfc8785.dumps(body), qos=1).wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


def _held(server: ServerProcess, keys: dict[str, Terminal]) -> int:
    with server.client(timeout=30) as http:
        return sum(
            http.get(f"/v1/devices/{keys[p].address}").json()["last_seq"] or 0 for p in METERS
        )


def run_gateway(settings: Settings, server: ServerProcess) -> None:
    """Publish the station's meters over MQTT and let ``carbon-terminal`` bring them in."""
    if Broker.binary() is None:
        console.print(
            "[bold]gateway[/bold]  skipped: mosquitto is not installed (make demo installs it)"
        )
        return
    folder = settings.data_dir / "gateway"
    folder.mkdir(parents=True, exist_ok=True)
    keys = _keys(folder)
    (folder / "api_key").write_text(_register(server, keys))
    before = _held(server, keys)
    expected = len(METERS) * (HOURS - 1)  # each meter's first value is its opening
    if before >= expected:
        # Already in: publishing the day again to a gateway that lost its state would only be
        # refused by the ledger's register-continuity check.
        console.print(f"[bold]gateway[/bold]  {ENTERPRISE}: {before} signed readings already held")
        return
    broker = Broker(folder / "broker")
    broker.start()
    status_port = free_port()
    config = _config(folder, server.base_url, broker.port, status_port)
    with (folder / "gateway.log").open("ab") as log:
        gateway = subprocess.Popen(
            [str(Path(sys.executable).parent / "carbon-terminal"), "run", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        _wait(lambda: _subscribed(status_port, gateway), "the gateway's subscriptions")
        _publish(broker.port)
        _wait(lambda: _held(server, keys) >= expected, "the ledger to hold every reading")
    finally:
        gateway.terminate()
        gateway.wait(timeout=60)
        broker.stop()
    held = _held(server, keys)
    console.print(
        f"[bold]gateway[/bold]  {ENTERPRISE}: {len(METERS)} meters over MQTT through "
        f"carbon-terminal, {held} signed readings held ({held - before} new); "
        f"status and logs in {folder}"
    )


def _subscribed(port: int, gateway: subprocess.Popen[bytes]) -> bool:
    if gateway.poll() is not None:
        raise RuntimeError("carbon-terminal exited; see its gateway.log")
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.TransportError:
        return False
    return "carbon_terminal_mqtt_subscribed 1.0" in text
