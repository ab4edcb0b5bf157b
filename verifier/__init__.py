"""carbon-verify: the protocol's reference reader, as a library.

Check a proof bundle offline, or against the chain through one JSON-RPC endpoint, trusting
only that chain and the published anchor contract code::

    import json

    from verifier import JsonRpcReader, parse_bundle, verify_record

    bundle = parse_bundle(json.load(open("proof.json")))  # VerificationFailure if unreadable
    result = verify_record(bundle, JsonRpcReader("https://rpc.example.org"))
    if result.valid:
        print(result.record.value, result.record.unit)
    else:
        print(result.failure.check, result.failure.code, result.failure.reason)

``verify_figure`` / ``parse_figure_bundle`` and ``verify_asset`` / ``parse_asset_bundle`` work
the same way. Pass ``None`` instead of a reader to skip the on-chain checks (the result is then
``offline``), and ``trust=`` a :class:`TrustRoot` to accept another build of the contract. An
endpoint that cannot answer raises :class:`RpcError`: no verdict can be given then.

The names are imported on first use, so importing this package costs nothing. It imports
nothing from ``ledger_api`` or ``anchoring``; they may import it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verifier.checks.asset import AssetVerificationResult, parse_asset_bundle, verify_asset
    from verifier.checks.figure import parse_figure_bundle, verify_figure
    from verifier.checks.kernel import CheckResult, CheckStatus, VerificationResult
    from verifier.checks.record import RecordSummary, parse_bundle, verify_record
    from verifier.errors import VerificationFailure, VerifierError
    from verifier.rpc import ChainReader, JsonRpcReader, RpcError
    from verifier.trust import TrustRoot, load_artifact_trust, load_default_trust

# Each public name and the module that defines it.
_HOMES = {
    "verify_record": "verifier.checks.record",
    "parse_bundle": "verifier.checks.record",
    "RecordSummary": "verifier.checks.record",
    "verify_figure": "verifier.checks.figure",
    "parse_figure_bundle": "verifier.checks.figure",
    "verify_asset": "verifier.checks.asset",
    "parse_asset_bundle": "verifier.checks.asset",
    "AssetVerificationResult": "verifier.checks.asset",
    "VerificationResult": "verifier.checks.kernel",
    "CheckResult": "verifier.checks.kernel",
    "CheckStatus": "verifier.checks.kernel",
    "VerificationFailure": "verifier.errors",
    "VerifierError": "verifier.errors",
    "ChainReader": "verifier.rpc",
    "JsonRpcReader": "verifier.rpc",
    "RpcError": "verifier.rpc",
    "TrustRoot": "verifier.trust",
    "load_default_trust": "verifier.trust",
    "load_artifact_trust": "verifier.trust",
}

__all__ = [
    "AssetVerificationResult",
    "ChainReader",
    "CheckResult",
    "CheckStatus",
    "JsonRpcReader",
    "RecordSummary",
    "RpcError",
    "TrustRoot",
    "VerificationFailure",
    "VerificationResult",
    "VerifierError",
    "load_artifact_trust",
    "load_default_trust",
    "parse_asset_bundle",
    "parse_bundle",
    "parse_figure_bundle",
    "verify_asset",
    "verify_figure",
    "verify_record",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'verifier' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
