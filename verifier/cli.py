"""``carbon-verify``: check a proof bundle against the chain, trusting nothing else.

    carbon-verify record BUNDLE (--rpc URL | --offline) [--json] [--artifact PATH]

Exit codes: 0 valid, 1 invalid (the failed check is named), 2 unusable input — a file that is
missing or not a bundle, no RPC URL, an endpoint that does not answer — reported in one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from verifier.rpc import JsonRpcReader, RpcError
from verifier.trust import TrustError, load_artifact_trust, load_default_trust
from verifier.verify import (
    BundleInvalid,
    CheckStatus,
    VerificationResult,
    parse_bundle,
    verify_record,
)

EXIT_VALID, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2
PROG = "carbon-verify"


class Unusable(Exception):
    """Input the verifier cannot judge; the message is the one line the user sees."""

    def __init__(self, message: str, check: str | None = None) -> None:
        super().__init__(message)
        self.check = check


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Verify carbon-ledger proofs.")
    commands = parser.add_subparsers(dest="command", required=True)
    record = commands.add_parser("record", help="verify a record proof bundle")
    record.add_argument("bundle", help="path of the bundle JSON ('-' reads standard input)")
    where = record.add_mutually_exclusive_group()
    where.add_argument("--rpc", metavar="URL", help="JSON-RPC endpoint of the anchor chain")
    where.add_argument("--offline", action="store_true", help="skip the on-chain checks")
    record.add_argument("--json", action="store_true", help="print one JSON object")
    record.add_argument(
        "--artifact",
        type=Path,
        metavar="PATH",
        help="trust the runtime code of this build artifact instead of the shipped list",
    )
    record.add_argument("--timeout", type=float, default=15.0, help="RPC timeout, seconds")
    return parser


def _read_json(name: str) -> Any:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Unusable(f"cannot read {name}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Unusable(f"{name} is not JSON: {exc}", "bundle") from None


def _verify(args: argparse.Namespace) -> VerificationResult:
    if not args.offline and not args.rpc:
        raise Unusable("an RPC URL is needed to check the anchor: pass --rpc URL, or --offline")
    try:
        bundle = parse_bundle(_read_json(args.bundle))
    except BundleInvalid as exc:
        raise Unusable(f"{args.bundle}: {exc.reason}", "bundle") from None
    try:
        trust = load_artifact_trust(args.artifact) if args.artifact else load_default_trust()
        rpc = None if args.offline else JsonRpcReader(args.rpc, args.timeout)
        return verify_record(bundle, rpc, trust=trust)
    except (TrustError, RpcError) as exc:
        raise Unusable(str(exc)) from None


def _marks() -> dict[CheckStatus, str]:
    # A terminal that cannot print ✓ would otherwise end the run with an encoding traceback.
    try:
        "✓✗·".encode(sys.stdout.encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return {
            CheckStatus.PASSED: "ok",
            CheckStatus.FAILED: "XX",
            CheckStatus.SKIPPED: "--",
            CheckStatus.NOT_RUN: "..",
        }
    return {
        CheckStatus.PASSED: "✓",
        CheckStatus.FAILED: "✗",
        CheckStatus.SKIPPED: "-",
        CheckStatus.NOT_RUN: "·",
    }


def _print_human(result: VerificationResult) -> None:
    marks = _marks()
    for check in result.checks:
        detail = "skipped: " + check.detail if check.status is CheckStatus.SKIPPED else check.detail
        print(f"{marks[check.status]} {check.name:<16} {detail}")
    if result.failure is not None:
        print(f"INVALID: {result.failure.check}: {result.failure.reason}")
        return
    if result.offline:
        print("note: offline, so the anchor on chain was not checked")
    print("VALID")


def _record(args: argparse.Namespace) -> int:
    try:
        result = _verify(args)
    except Unusable as exc:
        if args.json:
            print(
                json.dumps(
                    {
                        "valid": False,
                        "unusable": True,
                        "failedCheck": exc.check,
                        "reason": str(exc),
                        "checks": [],
                        "record": None,
                    }
                )
            )
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        _print_human(result)
    if result.valid:
        return EXIT_VALID
    return EXIT_UNUSABLE if result.failed_check == "bundle" else EXIT_INVALID


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return exc.code if isinstance(exc.code, int) else EXIT_UNUSABLE
    return _record(args)


if __name__ == "__main__":
    sys.exit(main())
