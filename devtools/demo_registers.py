"""The demo's register step (``docs/figure-proof-format.md`` section 11): the float glass works'
terminals read meters with cumulative registers, and its furnace's gas meter is replaced in the
middle of the month. Its readings carry the same hourly quantities as without registers, so
its figures are unchanged; what changes is how a figure can be proven. The step fetches the
record-by-record and the register form of one figure and says what each carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from devtools.demo_plan import CST, DemoEnterprise
from devtools.local_server import ServerProcess
from ledger_api.commands.runtime import console
from ledger_api.core.config import Settings
from terminal.client import RegisterMeter, SignedRecord, Terminal
from verifier.protocol.typed_data import ActivityRecord, Domain

REGISTER_ENTERPRISE = "glass"
REPLACED_SOURCE = "furnace-ng-meter"
# The new meter's first reading: the first hour of the month's sixteenth day (hourly seqs
# count from 1 at the month's first hour).
REPLACED_AT_SEQ = 15 * 24 + 1
# Where the registers stand when the month opens (scaled like the quantities: 1,000,000 units
# at three decimals), and where the new meter's starts.
OPENING_REGISTER = 1_000_000_000
NEW_METER_REGISTER = 0
FIGURE = "total"


@dataclass
class Meters:
    """The registers of an enterprise's meters while its terminals sign the month: none but
    the register enterprise's, whose readings each carry their meter's register."""

    registers: dict[str, RegisterMeter]
    replaced: str | None = None

    @classmethod
    def of(cls, enterprise: DemoEnterprise, sources: Iterable[str]) -> Meters:
        if enterprise.key != REGISTER_ENTERPRISE:
            return cls({})
        meters = {s: RegisterMeter(OPENING_REGISTER) for s in sources}
        return cls(meters, enterprise.source_identifier(REPLACED_SOURCE))

    def sign(
        self,
        terminal: Terminal,
        domain: Domain,
        record: ActivityRecord,
        attributes: Mapping[str, Any] | None,
    ) -> SignedRecord:
        """The terminal's signed reading: with its register attributes when it has a meter."""
        meter = self.registers.get(record.source)
        if meter is None:
            return terminal.sign(domain, record, attributes)
        if record.source == self.replaced and record.seq == REPLACED_AT_SEQ:
            meter.replace(NEW_METER_REGISTER)
        return terminal.sign_reading(domain, record, meter, attributes)


def signed_readings(bundle: Mapping[str, Any]) -> int:
    """The signed readings a figure bundle carries: its records, the edge readings of its
    devices proven record by record, and every reading of its register devices."""
    count = len(bundle["records"])
    for device in bundle.get("devices", ()):
        count += sum(1 for side in ("before", "after") if device.get(side) is not None)
    for device in (bundle.get("registers") or {}).get("devices", ()):
        edges = (device.get(s) for s in ("before", "first", "last", "after"))
        count += sum(1 for reading in edges if reading is not None) + 2 * len(device["changes"])
    return count


def _changes(bundle: Mapping[str, Any]) -> list[str]:
    """Each meter change the register form shows, as the demo prints it."""
    shown = []
    for device in (bundle.get("registers") or {}).get("devices", ()):
        for change in device["changes"]:
            end, start = change["end"]["record"], change["start"]["record"]
            at = datetime.fromtimestamp(int(start["message"]["periodStart"]), CST)
            source = start["message"]["source"].rsplit("/", 1)[-1]
            shown.append(
                f"{source} meter replaced {at:%Y-%m-%d %H:%M} local, seq "
                f"{end['message']['seq']}→{start['message']['seq']}, epoch "
                f"{end['attributes']['registerEpoch']}→{start['attributes']['registerEpoch']}"
            )
    return shown


def _fetch(
    settings: Settings, server: ServerProcess, evaluation: Mapping[str, Any], form: str
) -> tuple[Path, dict[str, Any]]:
    identifier = evaluation["identifier"]
    answer = server.get(
        f"/v1/evaluations/{identifier}/proof",
        params={"figure": FIGURE, "form": form},
        timeout=300,
    )
    answer.raise_for_status()
    name = f"figure-{identifier.rsplit('/', 1)[-1]}-{FIGURE}-{form}.json"
    path = settings.data_dir / "proofs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(answer.content)
    return path, answer.json()


def show_registers(
    settings: Settings, server: ServerProcess, evaluation: Mapping[str, Any]
) -> Path:
    """Fetch both forms of the register enterprise's figure and say what each carries; the
    register form's file, for ``carbon-verify figure``."""
    counted = evaluation["entry"]["records"]["count"]
    meters = len(evaluation["entry"]["records"]["devices"])
    console.print(
        f"[bold]registers[/bold] {evaluation['enterprise']}: {meters} meters sign cumulative "
        f"registers over {counted:,} hourly readings in the period"
    )
    paths = {}
    for form in ("records", "registers"):
        path, bundle = _fetch(settings, server, evaluation, form)
        paths[form] = path
        if form == "registers":
            for change in _changes(bundle):
                console.print(f"[bold]registers[/bold] {change}")
        console.print(
            f"[bold]proof[/bold]    {evaluation['enterprise']} {FIGURE} "
            f"{bundle['figure']['value']} tCO2e, form={form}: "
            f"{signed_readings(bundle):,} signed readings, {path.stat().st_size:,} bytes -> {path}"
        )
    return paths["registers"]
