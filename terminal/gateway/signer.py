"""The seam between the gateway and whatever holds the terminal's key.

The gateway only needs an address and a way to sign a record; the key itself never leaves the
signer. :class:`terminal.client.Terminal` (a keystore v3 file decrypted into this process) is
one; a hardware module's driver implementing the same two members is another.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from terminal.client import SignedRecord, Terminal
from verifier.protocol.typed_data import ActivityRecord, Domain

PASSPHRASE_ENV = "CARBON_TERMINAL_PASSPHRASE"


class Signer(Protocol):
    address: str

    def sign(
        self, domain: Domain, record: ActivityRecord, attributes: Mapping[str, Any] | None = None
    ) -> SignedRecord: ...


def passphrase(passphrase_file: Path | None) -> str:
    """The keystore's passphrase: a file (e.g. a systemd credential) or the environment."""
    if passphrase_file is not None:
        return passphrase_file.read_text().rstrip("\n")
    value = os.environ.get(PASSPHRASE_ENV)
    if not value:
        raise SystemExit(f"no passphrase: set terminal.passphrase_file or {PASSPHRASE_ENV}")
    return value


def open_keystores(
    keystore_dir: Path, points: list[str], passphrase_file: Path | None, create: bool = False
) -> dict[str, Signer]:
    """Each point's signer from its encrypted keystore ``<point>.json`` (created, owner-only,
    when asked): every meter point is a terminal of its own at the ledger."""
    secret = passphrase(passphrase_file)
    signers: dict[str, Signer] = {}
    for point in points:
        keystore = keystore_dir / f"{point}.json"
        if not create and not keystore.is_file():
            raise SystemExit(f"no keystore at {keystore}: run `carbon-terminal init` first")
        signers[point] = Terminal.load_or_create(keystore, secret)
    return signers
