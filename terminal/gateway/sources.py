"""Where samples come from: an MQTT broker's topics and Modbus TCP registers.

Both hand ``(sample, ack)`` pairs to the recorder. An MQTT message is acknowledged to the
broker only after its reading is on disk (QoS 1, persistent session), so a gateway killed in
between gets it again; a Modbus register is simply read again at the next poll, which for a
cumulative register loses nothing. Anything unreadable is reported, never replaced by a value.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

from terminal.gateway.config import WORDS, ModbusDevice, MqttBroker, Point
from terminal.gateway.health import Metrics
from terminal.gateway.meters import Sample

log = structlog.get_logger("carbon_terminal.sources")
Ack = Callable[[], None] | None
Submit = Callable[[Sample, Ack], None]


class BadPayload(ValueError):
    pass


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise BadPayload(f"not a decimal: {value!r}")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise BadPayload(f"not a decimal: {value!r}") from exc


def _time(value: Any) -> float:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError as exc:
            raise BadPayload(f"not an ISO 8601 time: {value!r}") from exc
    return float(_decimal(value))


def parse_payload(point: Point, payload: bytes, received: float) -> Sample:
    """A message's sample: JSON numbers are read as decimals, never through a float."""
    if point.payload == "plain":
        return Sample(point.name, received, _decimal(payload.decode()) * point.scale)
    try:
        body = json.loads(payload, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload("not JSON") from exc
    if not isinstance(body, dict) or point.value_key not in body:
        raise BadPayload(f"no {point.value_key!r} in the message")
    when = _time(body.get(point.time_key)) if point.time_key else received
    start = body.get("start")
    return Sample(
        point.name,
        when,
        _decimal(body[point.value_key]) * point.scale,
        _time(start) if start is not None else None,
    )


class MqttSource:
    """One broker connection with a persistent session, subscribed to every point's topic."""

    def __init__(self, broker: MqttBroker, submit: Submit, metrics: Metrics) -> None:
        self.broker, self.submit, self.metrics = broker, submit, metrics
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=broker.client_id,
            clean_session=False,
            manual_ack=True,
        )
        if broker.username:
            secret = broker.password_file.read_text().strip() if broker.password_file else None
            self.client.username_pw_set(broker.username, secret)
        self.client.reconnect_delay_set(0.1, 5)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = lambda *_: metrics.subscribed(True)

    def start(self) -> None:
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=15)
        self.client.loop_start()

    def pause(self) -> None:
        self.client.disconnect()

    def resume(self) -> None:
        self.client.loop_stop()
        self.start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _: Any, __: Any, reason: Any, ___: Any) -> None:
        log.info("mqtt_connected", reason=str(reason))
        client.subscribe([(p.topic, 1) for p in self.broker.points])

    def _on_disconnect(self, *args: Any) -> None:
        self.metrics.subscribed(False)
        log.warning("mqtt_disconnected", reason=str(args[3]) if len(args) > 3 else None)

    def _on_message(self, client: mqtt.Client, _: Any, message: mqtt.MQTTMessage) -> None:
        point = next(
            (p for p in self.broker.points if mqtt.topic_matches_sub(p.topic, message.topic)),
            None,
        )

        def ack() -> None:
            client.ack(message.mid, message.qos)

        if point is None:
            ack()
            return
        try:
            sample = parse_payload(point, message.payload, time.time())
        except BadPayload as exc:
            # A message that cannot be read now never can: acknowledged, counted, logged.
            self.metrics.event(point.name, "bad_payload", topic=message.topic, error=str(exc))
            ack()
            return
        self.submit(sample, ack)


class ModbusPoller(threading.Thread):
    """Polls one Modbus TCP device at a fixed rate, every point each time."""

    def __init__(self, device: ModbusDevice, submit: Submit, metrics: Metrics) -> None:
        super().__init__(name=f"modbus-{device.name}", daemon=True)
        self.device, self.submit, self.metrics = device, submit, metrics
        self.client = ModbusTcpClient(
            device.host, port=device.port, timeout=max(device.poll_s, 0.5), retries=0
        )
        self.stopping = threading.Event()
        self.paused = threading.Event()

    def run(self) -> None:
        next_poll = time.monotonic()
        while not self.stopping.is_set():
            if not self.paused.is_set():
                self._poll()
            next_poll += self.device.poll_s
            self.stopping.wait(max(0.0, next_poll - time.monotonic()))
        self.client.close()

    def _poll(self) -> None:
        if not self.client.connected and not self.client.connect():
            for point in self.device.points:
                self.metrics.event(point.name, "unreadable", device=self.device.name)
            return
        for point in self.device.points:
            try:
                value = self._read(point)
            except (ModbusException, OSError) as exc:
                self.metrics.event(point.name, "unreadable", error=str(exc))
                self.client.close()
                return
            if value is not None:
                self.submit(Sample(point.name, time.time(), value * point.scale), None)

    def _read(self, point: Point) -> Decimal | None:
        read = (
            self.client.read_holding_registers
            if point.table == "holding"
            else self.client.read_input_registers
        )
        response = read(point.address, count=WORDS[point.data_type], device_id=self.device.unit_id)
        if response.isError():
            self.metrics.event(point.name, "modbus_error", response=str(response))
            return None
        value = self.client.convert_from_registers(
            response.registers,
            ModbusTcpClient.DATATYPE[point.data_type.upper()],
            word_order=point.word_order,
        )
        # A float register goes through its shortest repr, the digits the meter meant.
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(int(value))  # type: ignore[arg-type]

    def pause(self) -> None:
        self.paused.set()

    def resume(self) -> None:
        self.paused.clear()

    def stop(self) -> None:
        self.stopping.set()
