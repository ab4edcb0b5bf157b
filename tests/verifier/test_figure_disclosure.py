"""A figure proof discloses nothing of another tenant, and its manifest sections hold: tried as
the attacker would, against a real ledger and chain (``figure_case``: A's readings 25..49 share
a batch with all of B's, and both entries share a batch)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.devchain import DevChain
from tests.verifier.failures import is_failure
from tests.verifier.figure_case import (
    ENTERPRISE_A,
    ENTERPRISE_B,
    FigureCase,
    figure_case,
    rehash_manifest,
    reprove,
    tamper,
)
from verifier.checks.figure import verify_figure
from verifier.checks.kernel import VerificationResult
from verifier.formats.figure import FIGURE_PROOF_VERSION, FigureProofBundle
from verifier.protocol.manifest import SECTION_FORMAT
from verifier.rpc import JsonRpcReader


@pytest.fixture(scope="module")
def case(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FigureCase]:
    yield from figure_case(dev_chain, w3, operator_account, tmp_path_factory.mktemp("ledger"))


def offline(bundle: FigureProofBundle) -> VerificationResult:
    return verify_figure(bundle, None)


def _sections(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("format") == SECTION_FORMAT:
            yield node
        for value in node.values():
            yield from _sections(value)
    elif isinstance(node, list):
        for value in node:
            yield from _sections(value)


def _shared(case: FigureCase) -> tuple[int, int]:
    """The index of the batch A and B share, in A's bundle and in B's."""
    mine = [b.batch.root for b in case.total.batches]
    theirs = [b.batch.root for b in case.second.batches]
    (root,) = set(mine) & set(theirs)
    return mine.index(root), theirs.index(root)


def test_a_figure_bundle_names_nothing_of_the_other_tenant(
    case: FigureCase, dev_chain: DevChain
) -> None:
    data = case.total.to_json()
    assert data["version"] == FIGURE_PROOF_VERSION == 3
    text = json.dumps(data).lower()
    device_b = case.other.record.device
    assert [t for t in (ENTERPRISE_B, device_b) if t.lower() in text] == []
    assert '"manifest":' not in text
    devices_a = {d["device"] for d in data["entry"]["records"]["devices"]}
    sections = list(_sections(data))
    assert sections and {s["enterprise"] for s in sections} <= {ENTERPRISE_A, None}
    assert {d["device"] for s in sections for d in s["devices"]} <= devices_a
    # B's readings share a batch with A's, yet A's section there counts only A's.
    a, _ = _shared(case)
    shared = data["batches"][a]["batch"]
    assert shared["section"]["leafCount"] < shared["leafCount"]
    assert verify_figure(case.total, JsonRpcReader(dev_chain.rpc_url)).valid


def test_another_tenants_genuine_section_does_not_count_the_records(case: FigureCase) -> None:
    """The operator offers B's real section of the shared batch (its path folds to the
    anchored hash) in place of A's."""
    a, b = _shared(case)
    theirs = case.second.to_json()["batches"][b]["batch"]

    def change(data: dict[str, Any]) -> None:
        data["batches"][a]["batch"] = theirs

    result = offline(tamper(case.total, change))
    assert result.failed_check == "record-inclusion"
    assert is_failure(result.failure, "BatchManifestMismatch")


def test_a_forged_section_count_fails_record_inclusion(case: FigureCase) -> None:
    a, _ = _shared(case)

    def change(data: dict[str, Any]) -> None:
        data["batches"][a]["batch"]["section"]["devices"][0]["count"] -= 1

    result = offline(tamper(case.total, change))
    assert result.failed_check == "record-inclusion"
    assert is_failure(result.failure, "BatchManifestMismatch")


def test_a_section_that_omits_the_device_fails_completeness(case: FigureCase) -> None:
    """A re-anchored batch whose A section, consistent in itself, lists another terminal in
    place of the one whose records the bundle gives."""
    a, _ = _shared(case)

    def change(data: dict[str, Any]) -> None:
        batch = data["batches"][a]
        reprove(data, a, list(range(len(batch["records"]))), whole=False)
        batch["batch"]["section"]["devices"][0]["device"] = "0x" + "ab" * 20
        rehash_manifest(batch)

    result = offline(tamper(case.total, change))
    assert result.failed_check == "completeness"
    assert is_failure(result.failure, "BatchIncomplete")


def test_the_entry_batch_section_must_be_the_entrys_enterprise(case: FigureCase) -> None:
    """Both entries share a batch: B's section there counts a ledger entry too, but not A's."""
    theirs = case.second.to_json()["entryProof"]["batch"]
    assert theirs["root"] == case.total.entry_proof.batch.root

    def change(data: dict[str, Any]) -> None:
        data["entryProof"]["batch"] = theirs

    result = offline(tamper(case.total, change))
    assert result.failed_check == "entry-leaf"
    assert is_failure(result.failure, "EntryManifestMismatch")
