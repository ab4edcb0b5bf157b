"""The gateway's one TOML file: the ledger, the key, the outbox, and every meter point.

Parsing refuses anything it does not know, so a typo in a key is an error at start, not a
meter that is silently never read.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

Kind = Literal["cumulative", "interval"]
DataType = Literal["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]
WORDS: dict[str, int] = {
    "int16": 1, "uint16": 1, "int32": 2, "uint32": 2,
    "int64": 4, "uint64": 4, "float32": 2, "float64": 4,
}  # fmt: skip


class ConfigError(ValueError):
    """The configuration is wrong; ``field`` is the dotted path of the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Point:
    """One meter point: where its samples come from and what record they become."""

    name: str
    source: str
    activity: str
    unit: str
    decimals: int
    kind: Kind
    scale: Decimal
    # cumulative: the register's modulus in scaled units (None: the register never wraps),
    # and how much of it a wrap may skip before it counts as a replacement instead.
    rollover: Decimal | None
    rollover_window: Decimal
    interval_s: float | None  # interval meters: the length one sample covers
    # MQTT
    topic: str | None = None
    payload: Literal["json", "plain"] = "json"
    value_key: str = "value"
    time_key: str | None = None
    # Modbus
    table: Literal["holding", "input"] = "holding"
    address: int = 0
    data_type: DataType = "uint32"
    word_order: Literal["big", "little"] = "big"

    @property
    def scaled_rollover(self) -> int | None:
        """The register's modulus in the record's scaled integer units."""
        return None if self.rollover is None else int(self.rollover.scaleb(self.decimals))


@dataclass(frozen=True)
class ModbusDevice:
    name: str
    host: str
    port: int
    unit_id: int
    poll_s: float
    points: tuple[Point, ...]


@dataclass(frozen=True)
class MqttBroker:
    host: str
    port: int
    client_id: str
    username: str | None
    password_file: Path | None
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Config:
    ledger_url: str
    api_key_file: Path
    enterprise: str
    keystore_dir: Path
    passphrase_file: Path | None
    state_dir: Path
    max_outbox: int
    batch_size: int
    status_port: int
    drift_warn_s: float
    mqtt: MqttBroker | None
    modbus: tuple[ModbusDevice, ...] = field(default_factory=tuple)

    @property
    def points(self) -> list[Point]:
        found = list(self.mqtt.points) if self.mqtt else []
        for device in self.modbus:
            found.extend(device.points)
        return found


class _Table:
    """A TOML table read key by key; leftovers are unknown keys and an error."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(path, "must be a table")
        self.data, self.path, self.used = data, path, set[str]()

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise ConfigError(self._at(key), "is required")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ConfigError(self._at(key), f"has the wrong type ({type(value).__name__})")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> Any:
        value = self.get(key, str, default if default is not None else ...)
        if value not in options:
            raise ConfigError(self._at(key), f"must be one of {', '.join(options)}")
        return value

    def decimal(self, key: str, default: str | None = None) -> Decimal | None:
        value = self.get(key, (str, int), default)
        if value is None:
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise ConfigError(self._at(key), "must be a decimal number") from exc
        if not number.is_finite() or number <= 0:
            raise ConfigError(self._at(key), "must be a positive decimal")
        return number

    def positive(self, key: str, default: float | None = None) -> float:
        value = float(self.get(key, (int, float), default if default is not None else ...))
        if value <= 0:
            raise ConfigError(self._at(key), "must be positive")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(self._at(unknown[0]), "is not a known setting")

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key


def _point(data: Any, path: str, transport: str) -> Point:
    t = _Table(data, path)
    kind = t.choice("kind", ("cumulative", "interval"))
    decimals = t.get("decimals", int, 3)
    if not 0 <= decimals <= 18:
        raise ConfigError(f"{path}.decimals", "must be between 0 and 18")
    name = t.get("name", str)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", name):
        # The name also names the point's keystore file.
        raise ConfigError(f"{path}.name", "letters, digits, '.', '_' and '-' only")
    common: dict[str, Any] = {
        "name": name,
        "source": t.get("source", str),
        "activity": t.get("activity", str),
        "unit": t.get("unit", str),
        "decimals": decimals,
        "kind": kind,
        "scale": t.decimal("scale", "1"),
        "rollover": t.decimal("rollover", None),
        "rollover_window": Decimal(str(t.get("rollover_window", float, 0.1))),
        "interval_s": t.positive("interval_s", 0) if "interval_s" in t.data else None,
    }
    if kind == "interval" and common["interval_s"] is None and transport == "modbus":
        raise ConfigError(f"{path}.interval_s", "an interval meter read by polling needs it")
    if transport == "mqtt":
        common["topic"] = t.get("topic", str)
        common["payload"] = t.choice("payload", ("json", "plain"), "json")
        common["value_key"] = t.get("value_key", str, "value")
        common["time_key"] = t.get("time_key", str, None)
        if kind == "interval" and common["time_key"] is None:
            # A redelivered message must be recognisable, or an interval would count twice.
            raise ConfigError(f"{path}.time_key", "an MQTT interval meter must send its time")
    else:
        common["table"] = t.choice("table", ("holding", "input"), "holding")
        common["address"] = t.get("address", int)
        common["data_type"] = t.choice("type", tuple(WORDS), "uint32")
        common["word_order"] = t.choice("word_order", ("big", "little"), "big")
        unsigned = common["data_type"].startswith("uint")
        if kind == "cumulative" and common["rollover"] is None and unsigned:
            # An unsigned counter wraps at 2^bits of its raw value.
            common["rollover"] = Decimal(2 ** (16 * WORDS[common["data_type"]])) * common["scale"]
    t.done()
    point = Point(**common)
    if point.rollover is not None and point.rollover.scaleb(decimals) % 1:
        raise ConfigError(f"{path}.rollover", "must be a whole number of the last decimal place")
    return point


def _modbus(data: Any, path: str) -> ModbusDevice:
    t = _Table(data, path)
    points = tuple(
        _point(p, f"{path}.points[{i}]", "modbus") for i, p in enumerate(t.get("points", list))
    )
    device = ModbusDevice(
        name=t.get("name", str),
        host=t.get("host", str),
        port=t.get("port", int, 502),
        unit_id=t.get("unit_id", int, 1),
        poll_s=t.positive("poll_s", 1.0),
        points=points,
    )
    t.done()
    return device


def _mqtt(data: Any) -> MqttBroker:
    t = _Table(data, "mqtt")
    points = tuple(
        _point(p, f"mqtt.points[{i}]", "mqtt") for i, p in enumerate(t.get("points", list))
    )
    password_file = t.get("password_file", str, None)
    broker = MqttBroker(
        host=t.get("host", str, "127.0.0.1"),
        port=t.get("port", int, 1883),
        client_id=t.get("client_id", str),
        username=t.get("username", str, None),
        password_file=Path(password_file) if password_file else None,
        points=points,
    )
    t.done()
    return broker


def parse(data: dict[str, Any], base: Path) -> Config:
    """The configuration in ``data``; relative paths are taken from ``base``."""
    t = _Table(data, "")
    ledger = _Table(t.get("ledger", dict), "ledger")
    terminal = _Table(t.get("terminal", dict), "terminal")
    outbox = _Table(t.get("outbox", dict, {}), "outbox")
    status = _Table(t.get("status", dict, {}), "status")
    passphrase = terminal.get("passphrase_file", str, None)
    config = Config(
        ledger_url=ledger.get("url", str),
        api_key_file=base / ledger.get("api_key_file", str),
        enterprise=terminal.get("enterprise", str),
        keystore_dir=base / terminal.get("keystore_dir", str, "keys"),
        passphrase_file=base / passphrase if passphrase else None,
        state_dir=base / outbox.get("dir", str, "state"),
        max_outbox=outbox.get("max_records", int, 1_000_000),
        batch_size=outbox.get("batch_size", int, 5_000),
        status_port=status.get("port", int, 9108),
        drift_warn_s=status.positive("drift_warn_s", 5.0),
        mqtt=_mqtt(t.get("mqtt", dict)) if "mqtt" in data else None,
        modbus=tuple(_modbus(d, f"modbus[{i}]") for i, d in enumerate(t.get("modbus", list, []))),
    )
    for table in (t, ledger, terminal, outbox, status):
        table.done()
    _check_unique(config)
    return config


def _check_unique(config: Config) -> None:
    names: set[str] = set()
    continuity: set[tuple[str, str]] = set()
    for point in config.points:
        if point.name in names:
            raise ConfigError("points", f"point name {point.name!r} is used twice")
        names.add(point.name)
        # A cumulative register's records chain by source and activity: two meters there would
        # interleave and neither chain would hold.
        if point.kind == "cumulative":
            key = (point.source, point.activity)
            if key in continuity:
                raise ConfigError(
                    "points", f"two cumulative meters for {point.source} {point.activity}"
                )
            continuity.add(key)
    if not names:
        raise ConfigError("points", "no meter point is configured")


def load(path: Path) -> Config:
    with path.open("rb") as handle:
        try:
            data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("toml", str(exc)) from exc
    return parse(data, path.parent)
