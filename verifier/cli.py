"""``carbon-verify``: check a proof bundle against the chain, trusting nothing else.

    carbon-verify record BUNDLE (--rpc URL | --offline) [--json] [--artifact PATH]
    carbon-verify figure BUNDLE (--rpc URL | --offline) [--json] [--artifact PATH]
    carbon-verify asset BUNDLE (--rpc URL | --offline) [--json] [--artifact PATH]
    carbon-verify population BUNDLE (--rpc URL | --offline) [--json] [--artifact PATH]

Exit codes: 0 valid, 1 invalid (the failed check is named), 2 cannot decide — a file that is
missing or not a bundle, no RPC URL, an endpoint that does not answer or serves another chain
than the bundle's — reported in one line.

Only the standard library is imported at start, so ``--help`` answers at once; the checks, and
the models and engines they need, are imported by the command that runs them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verifier.checks.kernel import CheckStatus, VerificationResult

EXIT_VALID, EXIT_INVALID, EXIT_UNDECIDED = 0, 1, 2
PROG = "carbon-verify"

# Per sub-command: its module under verifier.checks, its reader and verifier, its help line.
_COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "record": ("record", "parse_bundle", "verify_record", "verify a record proof bundle"),
    "figure": ("figure", "parse_figure_bundle", "verify_figure", "verify a figure proof bundle"),
    "asset": ("asset", "parse_asset_bundle", "verify_asset", "verify a carbon-asset proof bundle"),
    "population": (
        "population",
        "parse_population_bundle",
        "verify_population",
        "recompute a peer average from a regulator's population proof bundle",
    ),
}

_EPILOG = """\
exit codes:
  0  valid: every check passed (offline: every check but the chain's)
  1  invalid: the bundle is forged or broken; the failed check is named
  2  cannot decide: unreadable bundle, no --rpc or --offline, an endpoint that does
     not answer or serves another chain than the bundle's

example:
  carbon-verify record proof.json --rpc https://rpc.example.org
  curl -s "$LEDGER/v1/records/$DIGEST/proof" | carbon-verify record - --offline --json
"""


class Unusable(Exception):
    """Input the verifier cannot judge; the message is the one line the user sees."""

    def __init__(self, message: str, check: str | None = None) -> None:
        super().__init__(message)
        self.check = check


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Verify carbon-ledger proofs.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (*_, help_text) in _COMMANDS.items():
        command = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
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
        if name == "figure":
            command.add_argument(
                "--published",
                action="store_true",
                help="require the enterprise's signed publication statement (a bundle from a "
                "public page): check 'publication' fails without one",
            )
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
    except RecursionError:  # a hostile bundle nested past any real one
        raise Unusable(f"{name} nests too deeply to be a proof bundle", "bundle") from None


def _verify(args: argparse.Namespace) -> tuple[VerificationResult, Any]:
    import importlib

    from verifier.errors import VerificationFailure
    from verifier.rpc import JsonRpcReader, RpcError
    from verifier.trust import TrustError, load_artifact_trust, load_default_trust

    if not args.offline and not args.rpc:
        raise Unusable("an RPC URL is needed to check the anchor: pass --rpc URL, or --offline")
    module_name, parse_name, verify_name, _ = _COMMANDS[args.command]
    module = importlib.import_module(f"verifier.checks.{module_name}")
    try:
        bundle = getattr(module, parse_name)(_read_json(args.bundle))
    except VerificationFailure as exc:
        raise Unusable(f"{args.bundle}: {exc.reason}", "bundle") from None
    try:
        trust = load_artifact_trust(args.artifact) if args.artifact else load_default_trust()
        rpc = None if args.offline else JsonRpcReader(args.rpc, args.timeout)
        options = {"published": True} if getattr(args, "published", False) else {}
        return getattr(module, verify_name)(bundle, rpc, trust=trust, **options), bundle
    except (TrustError, RpcError) as exc:
        raise Unusable(str(exc)) from None


def _figure(bundle: Any) -> dict[str, str] | None:
    """The figure a figure proof claims (true only if the result is valid)."""
    figure = getattr(bundle, "figure", None)
    return None if figure is None else {"path": figure.path, "value": figure.value}


def _marks() -> dict[CheckStatus, str]:
    from verifier.checks.kernel import CheckStatus

    # A terminal that cannot print ✓ would otherwise end the run with an encoding traceback.
    try:
        "✓✗·".encode(sys.stdout.encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return {
            CheckStatus.PASSED: "ok",
            CheckStatus.FAILED: "XX",
            CheckStatus.SKIPPED: "--",
            CheckStatus.WARNING: "!!",
            CheckStatus.NOT_RUN: "..",
        }
    return {
        CheckStatus.PASSED: "✓",
        CheckStatus.FAILED: "✗",
        CheckStatus.SKIPPED: "-",
        CheckStatus.WARNING: "!",
        CheckStatus.NOT_RUN: "·",
    }


def _undecided(result: VerificationResult) -> bool:
    """Failures that say nothing about the bundle: it cannot be read, or the endpoint serves
    another chain than the one it is anchored on (ask an endpoint of that chain)."""
    return result.failed_check in ("bundle", "chain-id")


def _print_human(result: VerificationResult, figure: dict[str, str] | None) -> None:
    from verifier.checks.kernel import CheckStatus

    marks = _marks()
    for check in result.checks:
        detail = "skipped: " + check.detail if check.status is CheckStatus.SKIPPED else check.detail
        print(f"{marks[check.status]} {check.name:<16} {detail}")
    if result.failure is not None:
        verdict = "CANNOT DECIDE" if _undecided(result) else "INVALID"
        print(f"{verdict}: {result.failure.check}: {result.failure.reason}")
        return
    if figure is not None:
        print(f"figure {figure['path']} = {figure['value']}")
    summary = getattr(result, "summary", None)  # what an asset proof claims, as of when
    if summary:
        print(summary)
    for check in result.checks:
        if check.status is CheckStatus.WARNING:
            print(f"WARNING: {check.name}: {check.detail}")
    if result.offline:
        print(
            "VALID offline: signatures, leaves and paths hold; the chain was NOT checked "
            "(run with --rpc URL)"
        )
    else:
        print("VALID")


def _print_unusable(exc: Unusable, as_json: bool) -> None:
    if as_json:
        report = {
            "valid": False,
            "unusable": True,
            "failedCheck": exc.check,
            "reason": str(exc),
            "checks": [],
            "record": None,
        }
        print(json.dumps(report))
    print(f"{PROG}: error: {exc}", file=sys.stderr)


def _command(args: argparse.Namespace) -> int:
    try:
        result, bundle = _verify(args)
    except Unusable as exc:
        _print_unusable(exc, args.json)
        return EXIT_UNDECIDED
    figure = _figure(bundle)
    if args.json:
        report = result.to_json() | ({} if figure is None else {"figure": figure})
        print(json.dumps(report, ensure_ascii=False))
    else:
        _print_human(result, figure)
    if result.valid:
        return EXIT_VALID
    return EXIT_UNDECIDED if _undecided(result) else EXIT_INVALID


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return exc.code if isinstance(exc.code, int) else EXIT_UNDECIDED
    return _command(args)


if __name__ == "__main__":
    sys.exit(main())
