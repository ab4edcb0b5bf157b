"""A v2 figure proof's device evidence and reference data under attack: a ledger that hides a
device's registration or a period's edge, or computes with unpublished reference data, fails
at a named check. The bundles come from a real ledger on a real chain (``figure_case``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from accounting import load_factor_set
from accounting.grading import load_ruleset
from anchoring.devchain import DevChain
from terminal.client import Terminal
from tests.verifier.failures import failed
from tests.verifier.figure_case import FigureCase, figure_case, tamper
from verifier.checks.figure import verify_figure
from verifier.checks.kernel import CheckStatus, VerificationResult
from verifier.formats.figure import FigureProofBundle
from verifier.protocol.registry_ops import operation_of_event
from verifier.rpc import JsonRpcReader
from verifier.trust import ReferenceRoot, load_default_reference

DATA = Path(__file__).resolve().parents[2] / "accounting" / "data"


@pytest.fixture(scope="module")
def case(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FigureCase]:
    yield from figure_case(dev_chain, w3, operator_account, tmp_path_factory.mktemp("ledger"))


def offline(bundle: FigureProofBundle, **kwargs: Any) -> VerificationResult:
    return verify_figure(bundle, None, **kwargs)


# --- the period's edges ---------------------------------------------------------------------


def test_bundle_shows_the_reading_after_the_period(case: FigureCase, dev_chain: DevChain) -> None:
    [evidence] = case.total.devices
    assert evidence.after is not None and evidence.after.record.message["seq"] == "49"
    assert evidence.before is None  # the anchored registration says the key starts at seq 1
    result = verify_figure(case.total, JsonRpcReader(dev_chain.rpc_url))
    assert result.valid, result.failure


def test_hidden_reading_after_the_period_is_an_open_edge(case: FigureCase) -> None:
    result = offline(tamper(case.total, lambda data: data["devices"][0].update(after=None)))
    assert failed(result) == ("completeness", "PeriodEdgeUnproven")
    assert "shows neither seq 49 nor a revocation ending at seq 48" in result.failure.reason


def test_another_reading_as_the_edge(case: FigureCase) -> None:
    def change(data: dict[str, Any]) -> None:
        data["devices"][0]["after"]["record"] = data["records"][-1]  # seq 48, not 49

    result = offline(tamper(case.total, change))
    assert failed(result) == ("completeness", "PeriodEdgeUnproven")
    assert "is seq 48" in result.failure.reason and "not seq 49" in result.failure.reason


# --- the terminals' authority ---------------------------------------------------------------


def test_evidence_of_another_device_fails_authorization(case: FigureCase) -> None:
    other = case.second.to_json()["devices"][0]  # smelter B's terminal, genuinely anchored
    result = offline(tamper(case.total, lambda data: data.update(devices=[other])))
    assert failed(result) == ("authorization", "TerminalNotAuthorised")
    assert "shows no registry event of device" in result.failure.reason


def test_registry_event_edited_fails_authorization(case: FigureCase) -> None:
    def change(data: dict[str, Any]) -> None:
        event = data["devices"][0]["registry"][0]["event"]
        event["enterprise"] = case.second.entry["enterprise"]

    result = offline(tamper(case.total, change))
    assert failed(result) == ("authorization", "TerminalNotAuthorised")
    assert "does not hash to its kind-3 leaf" in result.failure.reason


def test_v2_bundle_without_device_evidence_is_unusable(case: FigureCase) -> None:
    result = offline(tamper(case.total, lambda data: data.update(devices=[])))
    assert failed(result) == ("bundle", "BundleInvalid")


def test_v1_bundle_is_read_and_says_what_it_lacks(case: FigureCase) -> None:
    def as_v1(data: dict[str, Any]) -> None:
        data.update(version=1)
        del data["devices"]

    result = offline(tamper(case.total, as_v1))
    checks = {c.name: c for c in result.checks}
    assert checks["authorization"].status is CheckStatus.SKIPPED
    assert "unregistered or revoked key" in checks["authorization"].detail
    # Nor does it carry the enterprise's signed registry: never plain VALID (issue 14 item 5).
    assert failed(result) == ("registry-signatures", "RegistryUnsigned")
    assert "(v1) carries no registry history" in result.failure.reason


# --- the enterprise's signed registry (issue 14 items 5, 2, 3) ------------------------------


def test_registry_history_dropped_is_unsigned(case: FigureCase) -> None:
    result = offline(tamper(case.total, lambda data: data.update(registry=[])))
    assert failed(result) == ("registry-signatures", "RegistryUnsigned")


def test_registry_event_left_out_breaks_the_chain(case: FigureCase) -> None:
    assert len(case.total.registry) == 3  # enrolment, source, terminal
    result = offline(tamper(case.total, lambda data: data["registry"].pop(1)))
    assert failed(result) == ("registry-chain", "RegistryChainBroken")
    assert "registry[1] is index 2" in result.failure.reason


def test_forged_enterprise_signature(case: FigureCase) -> None:
    forger = Terminal.create()

    def change(data: dict[str, Any]) -> None:
        event = data["registry"][2]["event"]
        op, _ = operation_of_event(event)
        event["signature"] = "0x" + forger.sign_registry_operation(case.domain, op).hex()

    result = offline(tamper(case.total, change))
    assert failed(result) == ("registry-signatures", "RegistrySignatureInvalid")
    assert f"signed by {forger.address}" in result.failure.reason


def test_registry_of_another_enterprise(case: FigureCase) -> None:
    other = case.second.to_json()["registry"]
    result = offline(tamper(case.total, lambda data: data.update(registry=other)))
    assert failed(result) == ("registry-signatures", "RegistryUnsigned")
    assert "is not the enrolment of" in result.failure.reason


def test_registry_event_edited_is_not_the_anchored_leaf(case: FigureCase) -> None:
    def change(data: dict[str, Any]) -> None:
        data["registry"][0]["event"]["industry"] = "cement"

    result = offline(tamper(case.total, change))
    assert failed(result) == ("registry-chain", "RegistryEventInvalid")
    assert "does not hash to its kind-3 leaf" in result.failure.reason


# --- reference data -------------------------------------------------------------------------


def test_trust_root_names_the_shipped_reference_data() -> None:
    reference = load_default_reference()
    shipped = {p.stem for p in (DATA / "factor_sets").glob("*.json")}
    factor_sets = {(s.id, s.version): s.digest for s in map(load_factor_set, shipped)}
    assert reference.factor_sets == factor_sets
    shipped = {p.stem for p in (DATA / "rulesets").glob("*.json")}
    rulesets = {(r.id, r.version): r.digest for r in map(load_ruleset, shipped)}
    assert reference.rulesets == rulesets


def test_factor_set_not_published_under_its_id(case: FigureCase) -> None:
    stated = case.total.entry["accounting"]["factorSet"]
    other = ReferenceRoot({(stated["id"], stated["version"]): "0x" + "11" * 32}, {})
    result = offline(case.total, reference=other)
    assert failed(result) == ("factor-set", "FactorSetUnpublished")
    assert "not the published one" in result.failure.reason


def test_ruleset_not_published_under_its_id(case: FigureCase) -> None:
    published = load_default_reference()
    other = ReferenceRoot(published.factor_sets, {})
    result = offline(case.grade, reference=other)
    assert failed(result) == ("rating", "RulesetUnpublished")
    assert "none is published" in result.failure.reason
