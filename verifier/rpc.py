"""Reading the chain: the four JSON-RPC calls a verifier needs, over stdlib ``urllib``.

The verifier talks to exactly one endpoint, the one its user names. Nothing here retries,
caches or falls back to another node: an answer we cannot get is reported, never guessed.
Responses are parsed into frozen models, so the checks in ``verifier.checks`` compare bytes
and integers, never loosely formatted hex strings.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from verifier.errors import VerifierError

__all__ = ["ChainReader", "JsonRpcReader", "Log", "Receipt", "RpcError", "RpcUnavailable"]

_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})*")


class RpcError(VerifierError):
    """The endpoint answered, but not with a usable JSON-RPC result."""

    code = "rpc_error"


class RpcUnavailable(RpcError):
    """The endpoint could not be reached (refused, timed out, not HTTP)."""

    code = "rpc_unavailable"


@dataclass(frozen=True)
class Log:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes
    log_index: int
    removed: bool


@dataclass(frozen=True)
class Receipt:
    status: int
    to: bytes | None
    block_number: int
    block_hash: bytes
    logs: tuple[Log, ...]


class ChainReader(Protocol):
    """What the on-chain checks read. Any EVM node can answer; tests use a real one."""

    def chain_id(self) -> int: ...

    def get_code(self, address: bytes) -> bytes: ...

    def call(self, to: bytes, data: bytes) -> bytes: ...

    def get_transaction_receipt(self, tx_hash: bytes) -> Receipt | None: ...


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _bytes(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise RpcError(f"{what}: expected 0x-hex bytes, got {value!r}")
    return bytes.fromhex(value[2:])


def _quantity(value: object, what: str) -> int:
    # Nodes disagree on leading zeros; accept them, but nothing that is not hex.
    if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-fA-F]+", value):
        raise RpcError(f"{what}: expected a 0x-hex quantity, got {value!r}")
    return int(value, 16)


def _log(raw: Any) -> Log:
    if not isinstance(raw, dict) or not isinstance(raw.get("topics"), list):
        raise RpcError("receipt log is not an object with topics")
    return Log(
        address=_bytes(raw.get("address"), "log address"),
        topics=tuple(_bytes(t, "log topic") for t in raw["topics"]),
        data=_bytes(raw.get("data"), "log data"),
        log_index=_quantity(raw.get("logIndex"), "logIndex"),
        removed=raw.get("removed") is True,
    )


def _receipt(raw: Any) -> Receipt:
    if not isinstance(raw, dict) or not isinstance(raw.get("logs"), list):
        raise RpcError("transaction receipt is not an object with logs")
    to = raw.get("to")
    return Receipt(
        status=_quantity(raw.get("status"), "status"),
        to=None if to is None else _bytes(to, "receipt to"),
        block_number=_quantity(raw.get("blockNumber"), "blockNumber"),
        block_hash=_bytes(raw.get("blockHash"), "blockHash"),
        logs=tuple(_log(entry) for entry in raw["logs"]),
    )


class JsonRpcReader:
    """A :class:`ChainReader` over HTTP(S) JSON-RPC, one POST per call."""

    def __init__(self, url: str, timeout_s: float = 15.0) -> None:
        # urllib would also open file: and ftp: URLs; a verifier must only ever ask a node.
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise RpcUnavailable(f"RPC URL must be http:// or https://, got {url!r}")
        self.url = url
        self.timeout_s = timeout_s
        self._next_id = 0

    def request(self, method: str, params: list[Any]) -> Any:
        self._next_id += 1
        body = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as exc:
            raise RpcError(f"{method}: HTTP {exc.code} from {self.url}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RpcUnavailable(f"cannot reach RPC endpoint {self.url}: {reason}") from None
        except ValueError:
            raise RpcError(f"{method}: the endpoint did not answer with JSON") from None
        if not isinstance(answer, dict):
            raise RpcError(f"{method}: the answer is not a JSON-RPC object")
        if "error" in answer:
            raise RpcError(f"{method}: node error {answer['error']!r}")
        if "result" not in answer:
            raise RpcError(f"{method}: the answer has no result")
        return answer["result"]

    def chain_id(self) -> int:
        return _quantity(self.request("eth_chainId", []), "eth_chainId")

    def get_code(self, address: bytes) -> bytes:
        return _bytes(self.request("eth_getCode", [_hex(address), "latest"]), "eth_getCode")

    def call(self, to: bytes, data: bytes) -> bytes:
        result = self.request("eth_call", [{"to": _hex(to), "data": _hex(data)}, "latest"])
        return _bytes(result, "eth_call")

    def get_transaction_receipt(self, tx_hash: bytes) -> Receipt | None:
        raw = self.request("eth_getTransactionReceipt", [_hex(tx_hash)])
        return None if raw is None else _receipt(raw)
