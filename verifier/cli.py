"""``carbon-verify``: check a proof bundle against the chain, trusting nothing else.

    carbon-verify record BUNDLE (--rpc URL | --offline) [--json] [--artifact PATH]
    carbon-verify figure BUNDLE (--rpc URL | --offline) [--json] [--artifact PATH]
    carbon-verify asset BUNDLE (--rpc URL | --offline) [--json] [--artifact PATH]

Exit codes: 0 valid, 1 invalid (the failed check is named), 2 unusable input — a file that is
missing or not a bundle, no RPC URL, an endpoint that does not answer — reported in one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from verifier.checks.asset import parse_asset_bundle, verify_asset
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.checks.record import (
    BundleInvalid,
    CheckStatus,
    VerificationResult,
    parse_bundle,
    verify_record,
)
from verifier.rpc import JsonRpcReader, RpcError
from verifier.trust import TrustError, load_artifact_trust, load_default_trust

EXIT_VALID, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2
PROG = "carbon-verify"


class Unusable(Exception):
    """Input the verifier cannot judge; the message is the one line the user sees."""

    def __init__(self, message: str, check: str | None = None) -> None:
        super().__init__(message)
        self.check = check


# Per sub-command: how to read the bundle's JSON and how to verify it.
_COMMANDS: dict[str, tuple[Callable[[Any], Any], Callable[..., VerificationResult], str]] = {
    "record": (parse_bundle, verify_record, "verify a record proof bundle"),
    "figure": (parse_figure_bundle, verify_figure, "verify a figure proof bundle"),
    "asset": (parse_asset_bundle, verify_asset, "verify a carbon-asset proof bundle"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Verify carbon-ledger proofs.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (_, _, help_text) in _COMMANDS.items():
        command = commands.add_parser(name, help=help_text)
        command.add_argument("bundle", help="path of the bundle JSON ('-' reads standard input)")
        where = command.add_mutually_exclusive_group()
        where.add_argument("--rpc", metavar="URL", help="JSON-RPC endpoint of the anchor chain")
        where.add_argument("--offline", action="store_true", help="skip the on-chain checks")
        command.add_argument("--json", action="store_true", help="print one JSON object")
        command.add_argument(
            "--artifact",
            type=Path,
            metavar="PATH",
            help="trust the runtime code of this build artifact instead of the shipped list",
        )
        command.add_argument("--timeout", type=float, default=15.0, help="RPC timeout, seconds")
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


def _verify(args: argparse.Namespace) -> tuple[VerificationResult, BaseModel]:
    if not args.offline and not args.rpc:
        raise Unusable("an RPC URL is needed to check the anchor: pass --rpc URL, or --offline")
    parse, verify, _ = _COMMANDS[args.command]
    try:
        bundle = parse(_read_json(args.bundle))
    except BundleInvalid as exc:
        raise Unusable(f"{args.bundle}: {exc.reason}", "bundle") from None
    try:
        trust = load_artifact_trust(args.artifact) if args.artifact else load_default_trust()
        rpc = None if args.offline else JsonRpcReader(args.rpc, args.timeout)
        return verify(bundle, rpc, trust=trust), bundle
    except (TrustError, RpcError) as exc:
        raise Unusable(str(exc)) from None


def _figure(bundle: BaseModel) -> dict[str, str] | None:
    """The figure a figure proof claims (true only if the result is valid)."""
    figure = getattr(bundle, "figure", None)
    return None if figure is None else {"path": figure.path, "value": figure.value}


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


def _print_human(result: VerificationResult, figure: dict[str, str] | None) -> None:
    marks = _marks()
    for check in result.checks:
        detail = "skipped: " + check.detail if check.status is CheckStatus.SKIPPED else check.detail
        print(f"{marks[check.status]} {check.name:<16} {detail}")
    if result.failure is not None:
        print(f"INVALID: {result.failure.check}: {result.failure.reason}")
        return
    if result.offline:
        print("note: offline, so the anchor on chain was not checked")
    if figure is not None:
        print(f"figure {figure['path']} = {figure['value']}")
    summary = getattr(result, "summary", None)  # what an asset proof claims, as of when
    if summary:
        print(summary)
    print("VALID")


def _command(args: argparse.Namespace) -> int:
    try:
        result, bundle = _verify(args)
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
    figure = _figure(bundle)
    if args.json:
        report = result.to_json() | ({} if figure is None else {"figure": figure})
        print(json.dumps(report, ensure_ascii=False))
    else:
        _print_human(result, figure)
    if result.valid:
        return EXIT_VALID
    return EXIT_UNUSABLE if result.failed_check == "bundle" else EXIT_INVALID


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return exc.code if isinstance(exc.code, int) else EXIT_UNUSABLE
    return _command(args)


if __name__ == "__main__":
    sys.exit(main())
