"""Which manifest scheme a record proof's batch uses is decided by the anchored manifest hash:
a batch anchored before sections (v1, flat manifest) keeps verifying in v1 bundles, and
neither scheme can stand in for the other. Real signatures, a real chain."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from anchoring.anchor_contract import AnchorContract
from anchoring.devchain import DevChain
from tests.verifier.record_bundle_factory import Case, make_case, tamper
from verifier.checks.record import parse_bundle, verify_record
from verifier.errors import VerificationFailure
from verifier.formats.record import RecordProofBundle
from verifier.protocol.manifest import section_leaf
from verifier.protocol.merkle import process_proof
from verifier.rpc import JsonRpcReader


@pytest.fixture
def legacy(anchor: AnchorContract, operator_account: LocalAccount) -> Case:
    return make_case(anchor, operator_account, legacy=True)


@pytest.fixture
def current(anchor: AnchorContract, operator_account: LocalAccount) -> Case:
    return make_case(anchor, operator_account)


def _offline(bundle: RecordProofBundle) -> tuple[str | None, str | None]:
    result = verify_record(bundle, None)
    return result.failed_check, None if result.failure is None else result.failure.code


def test_a_v1_bundle_of_a_batch_anchored_before_sections_still_verifies(
    legacy: Case, dev_chain: DevChain
) -> None:
    assert legacy.bundle.version == 1 and legacy.bundle.batch.manifest is not None
    result = verify_record(legacy.bundle, JsonRpcReader(dev_chain.rpc_url))
    assert result.valid, result.failure


def test_a_v2_bundle_verifies_and_carries_only_its_section(
    current: Case, dev_chain: DevChain
) -> None:
    batch = current.bundle.batch
    assert current.bundle.version == 2 and batch.manifest is None and batch.section is not None
    # The batch holds a second device and a registry event: the section of the record's
    # enterprise counts its leaves only, and the event sits in the section of no enterprise.
    assert batch.section.leaf_count < batch.leaf_count
    assert current.bundle.authorization[0].batch.section.enterprise is None  # type: ignore[union-attr]
    result = verify_record(current.bundle, JsonRpcReader(dev_chain.rpc_url))
    assert result.valid, result.failure


def test_a_section_cannot_stand_for_a_flat_manifest(legacy: Case, current: Case) -> None:
    """The operator hides a v1 batch's flat manifest behind a section: nothing folds to a hash
    of JSON text."""
    stated = current.bundle.batch.model_dump(mode="json", by_alias=True)

    def change(data: dict[str, Any]) -> None:
        del data["batch"]["manifest"]
        data["batch"] |= {"section": stated["section"], "sectionProof": stated["sectionProof"]}

    assert _offline(tamper(legacy.bundle, change)) == ("manifest", "ManifestMismatch")


def test_a_flat_manifest_cannot_stand_for_a_section(legacy: Case, current: Case) -> None:
    flat = legacy.bundle.batch.model_dump(mode="json", by_alias=True)["manifest"]

    def change(data: dict[str, Any]) -> None:
        del data["batch"]["section"], data["batch"]["sectionProof"]
        data["batch"]["manifest"] = flat

    assert _offline(tamper(current.bundle, change)) == ("manifest", "ManifestMismatch")


def test_a_batch_stating_both_schemes_is_refused_as_a_bundle(legacy: Case, current: Case) -> None:
    data = current.bundle.to_json()
    data["batch"]["manifest"] = legacy.bundle.batch.model_dump(mode="json", by_alias=True)[
        "manifest"
    ]
    with pytest.raises(VerificationFailure) as caught:
        parse_bundle(data)
    assert (caught.value.check, caught.value.code) == ("bundle", "BundleInvalid")


def test_a_section_counting_a_device_twice_is_refused(current: Case) -> None:
    """A section consistent in its sums and anchored as the operator pleases (offline, the
    stated hash is the forged section's): one terminal listed twice is refused."""

    def change(data: dict[str, Any]) -> None:
        batch = data["batch"]
        section = batch["section"]
        twice = next(d for d in section["devices"] if d["count"] == 1)
        section["devices"].append(twice)
        section["kinds"]["1"] += 1
        section["leafCount"] += 1
        assert section["leafCount"] <= batch["leafCount"]
        leaf = section_leaf(section)
        path = [bytes.fromhex(n[2:]) for n in batch["sectionProof"]]
        batch["manifestHash"] = "0x" + process_proof(leaf, path).hex()

    result = verify_record(tamper(current.bundle, change), None)
    assert (result.failed_check, result.failure and result.failure.code) == (
        "manifest",
        "ManifestMismatch",
    )
    assert "once each" in result.failure.reason  # type: ignore[union-attr]
