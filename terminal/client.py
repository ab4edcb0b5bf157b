"""A collection terminal: an encrypted key, EIP-712 signing, and safe-to-repeat submission.

Submitting is idempotent on the ledger (a stored record sent again is a no-op), so a batch is
simply sent again after any failure that leaves its fate unknown: a dropped connection, a
timeout, a 5xx or a 429.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import coincurve
import httpx
from eth_account import Account

from verifier.protocol.asset_ops import AssetOperation, sign_asset_operation
from verifier.protocol.declarations import AddedValueDeclaration, sign_declaration
from verifier.protocol.keccak import keccak256, to_checksum_address
from verifier.protocol.registers import register_attributes
from verifier.protocol.registry_ops import RegistryOperation, sign_registry_operation
from verifier.protocol.typed_data import ActivityRecord, Domain, attributes_hash, sign_record

RETRY_STATUSES = {429, 500, 502, 503, 504}
DEFAULT_SCRYPT_N = 2**18  # the Web3 Secret Storage default


class BatchRejected(RuntimeError):
    """The ledger refused the batch (4xx): nothing of it was stored."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        error = body.get("error", {})
        super().__init__(f"{status} {error.get('code')}: {error.get('message')}")
        self.status = status
        self.code = error.get("code")
        self.problems: list[dict[str, Any]] = error.get("problems", [])


@dataclass(frozen=True)
class SignedRecord:
    """A record, its signature, and the attributes whose hash it carries."""

    record: ActivityRecord
    signature: bytes
    attributes: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "record": self.record.to_message(),
            "signature": "0x" + self.signature.hex(),
        }
        if self.attributes is not None:
            body["attributes"] = dict(self.attributes)
        return body


class RegisterMeter:
    """A meter's cumulative register as a terminal tracks it (``docs/figure-proof-format.md``
    section 11): each reading's quantity advances the register, and the reading carries the
    register attributes that let a figure be proven from a period's edge readings alone.

    ``register`` is the scaled register (``decimals`` places, as the quantity) before the next
    reading. The first reading of an epoch also states its opening register."""

    def __init__(self, register: int, epoch: int = 0) -> None:
        self.register = register
        self.epoch = epoch
        self._opening_due = True

    def attributes(self, quantity: int, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The attributes of the next reading, of ``quantity``; ``extra`` are the reading's
        other attributes (kept the same within an epoch)."""
        opening = self.register if self._opening_due else None
        self.register += quantity
        self._opening_due = False
        return {**(extra or {}), **register_attributes(self.register, self.epoch, opening)}

    def replace(self, register: int) -> None:
        """A new meter, or a reset register: the next reading opens the next epoch at
        ``register``."""
        self.epoch += 1
        self.register = register
        self._opening_due = True


class Terminal:
    """A signing key in an encrypted keystore: a collection terminal's, or the key an
    enterprise signs its asset operations with."""

    def __init__(self, private_key: bytes) -> None:
        self._key = coincurve.PrivateKey(private_key)
        public = self._key.public_key.format(compressed=False)[1:]
        self.address = to_checksum_address(keccak256(public)[12:])

    @classmethod
    def create(cls) -> Terminal:
        return cls(Account.create().key)

    @classmethod
    def load_or_create(
        cls, keystore: Path, passphrase: str, scrypt_n: int = DEFAULT_SCRYPT_N
    ) -> Terminal:
        """Open the terminal's keystore, creating it (owner-only) on first use.

        ``scrypt_n`` sets the cost of a new keystore; lower it only for throwaway dev keys.
        """
        if keystore.is_file():
            return cls(Account.decrypt(json.loads(keystore.read_text()), passphrase))
        terminal = cls.create()
        keystore.parent.mkdir(parents=True, exist_ok=True)
        keystore.touch(mode=0o600, exist_ok=False)
        encrypted = Account.encrypt(terminal._key.secret, passphrase, iterations=scrypt_n)
        keystore.write_text(json.dumps(encrypted))
        return terminal

    def sign(
        self,
        domain: Domain,
        record: ActivityRecord,
        attributes: Mapping[str, Any] | None = None,
    ) -> SignedRecord:
        """Sign ``record``; with ``attributes``, check it carries their hash first."""
        if attributes is not None and attributes_hash(attributes) != record.attributes_hash:
            raise ValueError("record.attributes_hash does not match the attributes")
        return SignedRecord(record, sign_record(self._key, domain, record), attributes)

    def sign_reading(
        self,
        domain: Domain,
        record: ActivityRecord,
        meter: RegisterMeter,
        attributes: Mapping[str, Any] | None = None,
    ) -> SignedRecord:
        """Sign ``record`` as the next reading of ``meter``: its register attributes (with
        ``attributes``, the reading's others) are added and hashed into the record."""
        full = meter.attributes(record.quantity, attributes)
        return self.sign(domain, replace(record, attributes_hash=attributes_hash(full)), full)

    def sign_asset_operation(self, domain: Domain, operation: AssetOperation) -> str:
        """Sign an asset operation; the 0x-hex signature the ledger API takes."""
        return "0x" + sign_asset_operation(self._key, domain, operation).hex()

    def sign_declaration(self, domain: Domain, declaration: AddedValueDeclaration) -> str:
        """Sign an enterprise's added-value declaration; the 0x-hex signature the API takes."""
        return "0x" + sign_declaration(self._key, domain, declaration).hex()

    def sign_registry_operation(self, domain: Domain, operation: RegistryOperation) -> bytes:
        """Sign a registry operation of the enterprise whose key this is."""
        return sign_registry_operation(self._key, domain, operation)


def _retry_after(response: httpx.Response) -> float:
    """The server's Retry-After in seconds (capped at a minute), or 0 without one."""
    value = response.headers.get("Retry-After", "")
    return min(float(value), 60.0) if value.isdigit() else 0.0


class LedgerClient:
    """The ledger API as a terminal sees it."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        retries: int = 5,
        backoff_s: float = 0.2,
        timeout_s: float = 60.0,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """``verify`` is httpx's: TLS settings of the ledger's certificate (a context of a
        private CA, or one built once and shared by many clients)."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(
            base_url=base_url, timeout=timeout_s, headers=headers, verify=verify
        )
        self.retries = retries
        self.backoff_s = backoff_s

    def domain(self) -> Domain:
        """The EIP-712 domain the ledger accepts records for."""
        body = self._request("GET", "/v1/typed-data")
        return Domain(int(body["domain"]["chainId"]), body["domain"]["verifyingContract"])

    def submit(self, records: Sequence[SignedRecord]) -> dict[str, Any]:
        """Submit one batch; repeated on failures whose outcome is unknown."""
        return self._request(
            "POST", "/v1/activity-batches", json={"records": [r.to_json() for r in records]}
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        for attempt in range(self.retries + 1):
            wait_s = self.backoff_s * 2**attempt
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
            else:
                if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                    break
                wait_s = max(wait_s, _retry_after(response))
            time.sleep(wait_s)
        if response.status_code >= 400:
            raise BatchRejected(response.status_code, response.json())
        return response.json()

    def close(self) -> None:
        self.http.close()
