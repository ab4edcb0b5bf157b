"""verify_figure and ``carbon-verify figure`` against a real ledger and a real chain: valid
figure proofs pass, and each tampering is caught by the check it targets, named exactly.

One ledger is set up for the whole module (see ``figure_case``); tests tamper with copies."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.devchain import DevChain
from terminal.client import SignedRecord, Terminal
from tests.verifier.failures import is_failure
from tests.verifier.figure_case import (
    FigureCase,
    figure_case,
    rehash_manifest,
    reprove,
    tamper,
)
from verifier.checks.figure import FIGURE_CHECKS, verify_figure
from verifier.checks.kernel import CheckStatus, VerificationResult
from verifier.formats.figure import FigureProofBundle
from verifier.protocol.typed_data import ActivityRecord, Domain
from verifier.rpc import JsonRpcReader

CARBON_VERIFY = Path(sys.executable).parent / "carbon-verify"


@pytest.fixture(scope="module")
def case(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FigureCase]:
    yield from figure_case(dev_chain, w3, operator_account, tmp_path_factory.mktemp("ledger"))


@pytest.fixture
def rpc(dev_chain: DevChain) -> JsonRpcReader:
    return JsonRpcReader(dev_chain.rpc_url)


def offline(bundle: FigureProofBundle) -> VerificationResult:
    result = verify_figure(bundle, None)
    assert result.valid == (result.failure is None)
    return result


# --- valid bundles --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["total", "grade", "second"])
def test_valid_bundle_passes_online(case: FigureCase, rpc: JsonRpcReader, name: str) -> None:
    result = verify_figure(getattr(case, name), rpc)
    assert result.valid, result.failure
    assert [c.name for c in result.checks] == list(FIGURE_CHECKS)
    # An unpublished evaluation's bundle carries no publication statement: that check skips.
    statuses = {c.name: c.status for c in result.checks}
    assert statuses.pop("publication") is CheckStatus.SKIPPED
    assert set(statuses.values()) == {CheckStatus.PASSED}
    assert not result.offline and result.record is None


def test_valid_bundle_passes_offline(case: FigureCase) -> None:
    result = offline(case.total)
    assert result.valid, result.failure
    assert result.offline
    skipped = [c.name for c in result.checks if c.status is CheckStatus.SKIPPED]
    assert skipped == ["publication", "chain-id", "contract-code", "anchored", "anchor-location"]


# --- helpers --------------------------------------------------------------------------------


def as_json(signed: SignedRecord) -> dict[str, Any]:
    return {
        "message": signed.record.to_message(),
        "signature": "0x" + signed.signature.hex(),
        "attributes": None,
    }


def drop_record(data: dict[str, Any], index: int) -> None:
    """Remove ``records[index]`` and renumber the batches' references to the ones after it."""
    data["records"].pop(index)
    for batch in data["batches"]:
        batch["records"] = [r - (r > index) for r in batch["records"] if r != index]


def copy_of(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(record))


def batch_with_proof(bundle: FigureProofBundle) -> int:
    return next(b for b, batch in enumerate(bundle.batches) if batch.proof)


def whole_batch(bundle: FigureProofBundle) -> int:
    return next(
        b for b, batch in enumerate(bundle.batches) if len(batch.leaves) == batch.batch.leaf_count
    )


# --- each tampering, named ------------------------------------------------------------------


def test_missing_record_breaks_the_multiproof(case: FigureCase) -> None:
    def change(data: dict[str, Any]) -> None:
        batch = data["batches"][0]
        k = len(batch["records"]) // 2
        index = batch["records"].pop(k)
        batch["leaves"].pop(k)
        drop_record(data, index)

    result = offline(tamper(case.total, change))
    assert result.failed_check == "record-inclusion"
    assert is_failure(result.failure, "MultiproofInvalid", "RecordLeafMismatch")


def test_missing_record_with_a_valid_multiproof_is_incomplete(case: FigureCase) -> None:
    b = whole_batch(case.total)

    def change(data: dict[str, Any]) -> None:
        positions = range(len(data["batches"][b]["records"]))
        index = data["batches"][b]["records"][5]
        reprove(data, b, [k for k in positions if k != 5], whole=True)
        drop_record(data, index)

    result = offline(tamper(case.total, change))
    assert result.failed_check == "completeness"
    assert is_failure(result.failure, "IncompleteRecords")
    assert "records given, the entry counts" in result.failure.reason


def test_record_hidden_in_a_batch(case: FigureCase) -> None:
    """A ledger whose batch holds a record of the device inside the entry's range that the entry
    does not count (here: a re-anchored batch whose manifest says so) is caught by the counts."""
    b = whole_batch(case.total)

    def change(data: dict[str, Any]) -> None:
        batch = data["batches"][b]
        reprove(data, b, list(range(len(batch["records"]))), whole=False)
        # A section consistent in itself: one more record of the device, counted everywhere.
        section = batch["batch"]["section"]
        section["devices"][0]["count"] += 1
        section["kinds"]["1"] += 1
        section["leafCount"] += 1
        batch["batch"]["leafCount"] += 1
        rehash_manifest(batch)

    result = offline(tamper(case.total, change))
    assert result.failed_check == "completeness"
    assert is_failure(result.failure, "BatchIncomplete")


def test_record_absent_from_every_batch(case: FigureCase) -> None:
    def change(data: dict[str, Any]) -> None:
        data["records"].append(copy_of(data["records"][0]))

    result = offline(tamper(case.total, change))
    assert is_failure(result.failure, "RecordNotIncluded")


@pytest.mark.parametrize("which", ["outside", "other"])
def test_extra_record_of_another_period_or_enterprise(case: FigureCase, which: str) -> None:
    extra = as_json(getattr(case, which))
    result = offline(tamper(case.total, lambda data: data["records"].append(extra)))
    assert result.failed_check == "records"
    assert is_failure(result.failure, "RecordOutsideEntry")


def test_changed_quantity_fails_the_signature(case: FigureCase) -> None:
    def change(data: dict[str, Any]) -> None:
        data["records"][3]["message"]["quantity"] = "99999"

    result = offline(tamper(case.total, change))
    assert is_failure(result.failure, "RecordSignatureMismatch")
    assert result.failure.reason.startswith("records[3]: ")


def test_changed_quantity_resigned_by_another_key(case: FigureCase) -> None:
    forger = Terminal.create()
    message = {**case.total.records[3].message, "quantity": "99999"}
    # The message still names the real device: the signature recovers to the forger.
    signed = forger.sign(case.domain, ActivityRecord.from_message(message))
    result = offline(
        tamper(case.total, lambda data: data["records"].__setitem__(3, as_json(signed)))
    )
    assert is_failure(result.failure, "RecordSignatureMismatch")
    # Named as the forger's own record, it signs, but no anchored batch holds its leaf.
    mine = ActivityRecord.from_message({**message, "device": forger.address})
    signed = forger.sign(case.domain, mine)
    result = offline(
        tamper(case.total, lambda data: data["records"].__setitem__(3, as_json(signed)))
    )
    assert result.failed_check == "record-inclusion"
    assert is_failure(result.failure, "RecordLeafMismatch")


def test_changed_factor(case: FigureCase) -> None:
    def change(data: dict[str, Any]) -> None:
        factor = next(f for f in data["factorSet"]["factors"] if f["id"].startswith("grid."))
        factor["value"] = "0.1"

    result = offline(tamper(case.total, change))
    assert result.failed_check == "factor-set"
    assert is_failure(result.failure, "FactorSetMismatch")


def test_changed_figure_value(case: FigureCase) -> None:
    result = offline(tamper(case.total, lambda data: data["figure"].update(value="1.000")))
    assert result.failed_check == "figures"
    assert is_failure(result.failure, "FigureMismatch")


def test_changed_grade_in_the_entry(case: FigureCase) -> None:
    wrong = case.grade.entry["rating"]["grade"] % 5 + 1
    result = offline(tamper(case.grade, lambda data: data["entry"]["rating"].update(grade=wrong)))
    assert result.failed_check == "entry-leaf"
    assert is_failure(result.failure, "EntryLeafMismatch")


def test_changed_grade_figure(case: FigureCase) -> None:
    assert case.grade.figure.path == "rating.grade"
    wrong = str(int(case.grade.figure.value) % 5 + 1)
    result = offline(tamper(case.grade, lambda data: data["figure"].update(value=wrong)))
    assert is_failure(result.failure, "FigureMismatch")


def test_changed_multiproof_node(case: FigureCase) -> None:
    b = batch_with_proof(case.total)

    def change(data: dict[str, Any]) -> None:
        data["batches"][b]["proof"][0] = "0x" + "ab" * 32

    result = offline(tamper(case.total, change))
    assert result.failed_check == "record-inclusion"
    assert is_failure(result.failure, "MultiproofInvalid")


def test_root_not_anchored_passes_offline_fails_online(
    case: FigureCase, rpc: JsonRpcReader
) -> None:
    b = batch_with_proof(case.total)

    def change(data: dict[str, Any]) -> None:
        reprove(data, b, list(range(len(data["batches"][b]["records"]))), whole=False)

    bundle = tamper(case.total, change)
    assert bundle.batches[b].batch.root != case.total.batches[b].batch.root
    assert offline(bundle).valid
    result = verify_figure(bundle, rpc)
    assert result.failed_check == "anchored"
    assert is_failure(result.failure, "RootNotAnchored")


def test_changed_entry_path_node(case: FigureCase) -> None:
    def change(data: dict[str, Any]) -> None:
        data["entryProof"]["proof"][0] = "0x" + "cd" * 32

    result = offline(tamper(case.total, change))
    assert result.failed_check == "entry-leaf"
    assert is_failure(result.failure, "EntryPathInvalid")


def test_records_signed_for_another_contract(case: FigureCase) -> None:
    elsewhere = Domain(case.domain.chain_id, "0x" + "42" * 20)

    def change(data: dict[str, Any]) -> None:
        data["domain"]["verifyingContract"] = elsewhere.verifying_contract

    result = offline(tamper(case.total, change))
    assert is_failure(result.failure, "RecordDomainMismatch")


def test_changed_ruleset(case: FigureCase) -> None:
    def change(data: dict[str, Any]) -> None:
        data["ruleset"]["version"] = data["ruleset"]["version"] + "-edited"

    result = offline(tamper(case.grade, change))
    assert result.failed_check == "rating"
    assert is_failure(result.failure, "RulesetMismatch")


def test_rated_entry_without_ruleset(case: FigureCase) -> None:
    result = offline(tamper(case.grade, lambda data: data.update(ruleset=None)))
    assert is_failure(result.failure, "RulesetMismatch")


def test_entry_of_another_format_is_unusable(case: FigureCase) -> None:
    result = offline(tamper(case.total, lambda data: data["entry"].update(version=2)))
    assert result.failed_check == "bundle"
    assert is_failure(result.failure, "BundleInvalid")


# --- the console script ---------------------------------------------------------------------


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    if not CARBON_VERIFY.exists():
        pytest.skip("carbon-verify is not installed: pip install --no-deps -e .")
    return subprocess.run(
        [str(CARBON_VERIFY), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def write(tmp_path: Path, data: object, name: str = "figure.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_cli_valid_online_and_offline(
    case: FigureCase, dev_chain: DevChain, tmp_path: Path
) -> None:
    path = write(tmp_path, case.total.to_json())
    online = run("figure", path, "--rpc", dev_chain.rpc_url)
    assert online.returncode == 0, online.stdout + online.stderr
    lines = online.stdout.splitlines()
    assert lines[-1] == "VALID" and lines[-2] == f"figure total = {case.total.figure.value}"
    marks = {line.split()[1]: line[0] for line in lines if line[:2] in ("✓ ", "- ")}
    assert list(marks) == list(FIGURE_CHECKS)  # each passed or skipped, none warned
    assert marks["publication"] == "-"  # a downloaded bundle publishes nothing
    published = json.loads(run("figure", path, "--offline", "--published", "--json").stdout)
    assert (published["failedCheck"], published["failure"]) == ("publication", "PublicationMissing")
    report = json.loads(run("figure", path, "--offline", "--json").stdout)
    assert report["valid"] is True and report["offline"] is True
    assert report["figure"] == {"path": "total", "value": case.total.figure.value}


def test_cli_invalid_exits_1(case: FigureCase, dev_chain: DevChain, tmp_path: Path) -> None:
    bundle = tamper(case.total, lambda data: data["figure"].update(value="1.000"))
    path = write(tmp_path, bundle.to_json())
    done = run("figure", path, "--rpc", dev_chain.rpc_url)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1].startswith("INVALID: figures: ")
    report = json.loads(run("figure", path, "--offline", "--json").stdout)
    assert (report["failedCheck"], report["failure"]) == ("figures", "FigureMismatch")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ({"format": "carbon-ledger/record-proof"}, "not a carbon-ledger/figure-proof bundle"),
        ({"format": "carbon-ledger/figure-proof", "version": 4}, "unsupported bundle version"),
        ({"format": "carbon-ledger/figure-proof", "version": 1}, "figure"),
    ],
)
def test_cli_unusable_exits_2(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "missing.json" if content is None else write(tmp_path, content)
    done = run("figure", path, "--offline")
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_cli_needs_rpc_or_offline(case: FigureCase, tmp_path: Path) -> None:
    done = run("figure", write(tmp_path, case.total.to_json()))
    assert done.returncode == 2 and "--offline" in done.stderr
