"""A register-form figure proof (docs/figure-proof-format.md section 11) dropped on /verify, in
a real browser against the real chain: the page passes every check ``carbon-verify`` passes,
with the same statuses, and an operator's edit of a reading's register turns it red at the
check and failure ``carbon-verify`` names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page
from web3 import Web3

from anchoring.devchain import DevChain
from tests.conftest import LedgerServer
from tests.ledgers import own_ledger
from tests.verifier.register_case import Case, edits, tamper
from verifier.checks.figure import verify_figure
from verifier.formats.figure import FigureProofBundle
from verifier.rpc import JsonRpcReader


@pytest.fixture(scope="module")
def case(register_ledger: Case) -> Case:
    return register_ledger


@pytest.fixture(scope="module")
def pages(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LedgerServer]:
    """A ledger whose public pages name the dev chain as their endpoint: /verify goes online."""
    data_dir = tmp_path_factory.mktemp("register-pages")
    public = {"CARBON_PUBLIC_RPC_URL": dev_chain.rpc_url}
    with own_ledger(dev_chain, w3, operator_account, data_dir, **public) as ledger:
        yield ledger


def _drop(page: Page, pages: LedgerServer, bundle: FigureProofBundle, path: Path) -> str:
    """Choose the bundle on /verify; the page's verdict (its ``state-…`` class)."""
    path.write_text(json.dumps(bundle.to_json()), encoding="utf-8")
    page.goto(f"{pages.base_url}/verify")
    page.set_input_files("[data-role='file']", str(path))
    page.wait_for_selector("main.state-valid, main.state-invalid", timeout=120_000)
    return str(page.locator("main").get_attribute("class"))


def _shown(page: Page) -> dict[str, str]:
    return {
        item.locator(".name").inner_text(): str(item.get_attribute("class")).split("check-")[-1]
        for item in page.locator(".check").all()
    }


def test_register_proof_verifies_on_the_page(
    case: Case, pages: LedgerServer, dev_chain: DevChain, page: Page, tmp_path: Path
) -> None:
    python = verify_figure(case.registers, JsonRpcReader(dev_chain.rpc_url))
    assert python.valid, python.failure
    assert _drop(page, pages, case.registers, tmp_path / "registers.json") == "state-valid"
    assert _shown(page) == {c.name: c.status.value for c in python.checks}
    assert _shown(page)["anchored"] == "passed"


def test_a_rehashed_register_turns_the_page_red(
    case: Case, pages: LedgerServer, dev_chain: DevChain, page: Page, tmp_path: Path
) -> None:
    """M2's last register lowered and its attributes hash recomputed: the terminal's signature
    no longer covers the reading."""
    change, (check, failure) = edits(case)["register-lowered-rehashed"]
    forged = tamper(case.registers, change)
    python = verify_figure(forged, JsonRpcReader(dev_chain.rpc_url))
    assert (python.failed_check, python.failure and python.failure.code) == (check, failure)
    assert _drop(page, pages, forged, tmp_path / "forged.json") == "state-invalid"
    assert _shown(page)[check] == "failed"
    assert failure in page.locator("[data-role='reason']").inner_text()
