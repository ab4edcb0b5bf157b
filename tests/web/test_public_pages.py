"""The public 碳效码 page and /verify, against a real ledger and chain in a real browser: an
enterprise publishes an evaluation, anyone fetches its proof without a key, the page verifies
it in the browser (green), a tampered bundle turns it red at the check that catches it, and
withdrawing ends the publication. The report's QR code names the public page."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, Route
from web3 import Web3

from anchoring.anchor_contract import AnchorContract
from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.local_server import start_server
from tests.conftest import LedgerServer, server_env
from tests.verifier.asset_bundle_factory import make_asset_case
from tests.verifier.asset_bundle_factory import tamper as tamper_asset
from tests.verifier.figure_case import ENTERPRISE_A, FigureCase, build_case
from verifier.checks.asset import ASSET_CHECKS
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.rpc import JsonRpcReader

PUBLIC_BASE = "https://carbon.example.org"


@pytest.fixture(scope="module")
def public(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LedgerServer, FigureCase, str]]:
    """A ledger whose public pages read the dev chain, A's graded evaluation on it, and the
    key of A's enterprise principal."""
    data_dir = tmp_path_factory.mktemp("public-ledger")
    record, _ = deploy(w3, operator_account, data_dir / "deployments")
    env = server_env(data_dir, dev_chain.rpc_url)
    env |= {"CARBON_PUBLIC_RPC_URL": dev_chain.rpc_url, "CARBON_PUBLIC_BASE_URL": PUBLIC_BASE}
    server = start_server(data_dir, env)
    ledger = LedgerServer(server.base_url, data_dir, server.env, record, server)
    try:
        case = build_case(ledger)
        body = {"name": "smelter-a-public", "role": "enterprise", "enterprise": ENTERPRISE_A}
        owner = ledger.post("/v1/principals", json=body)
        assert owner.status_code == 201, owner.text
        yield ledger, case, owner.json()["key"]["token"]
    finally:
        server.stop()


def _identifier(case: FigureCase) -> str:
    return str(case.grade.entry["identifier"])


def _publish(ledger: LedgerServer, token: str, identifier: str, action: str) -> Any:
    return ledger.post(f"/v1/evaluations/{identifier}/{action}", token=token)


def test_publish_serves_the_proof_without_a_key_until_withdrawn(
    public: tuple[LedgerServer, FigureCase, str], dev_chain: DevChain
) -> None:
    ledger, case, owner = public
    identifier = _identifier(case)
    bundle_url = f"/v1/public/evaluations/{identifier}/proof"
    with httpx.Client(base_url=ledger.base_url, timeout=60) as anonymous:
        assert anonymous.get(bundle_url).status_code == 404  # not published yet
        assert anonymous.get(f"/v/{identifier}").status_code == 404
    assert _publish(ledger, ledger.token, identifier, "publish").status_code == 404  # admin
    published = _publish(ledger, owner, identifier, "publish")
    assert published.status_code == 200, published.text
    assert published.json()["published"] and published.json()["page"] == f"/v/{identifier}"
    with httpx.Client(base_url=ledger.base_url, timeout=60) as anonymous:
        answer = anonymous.get(bundle_url)
        assert answer.status_code == 200
        bundle = parse_figure_bundle(answer.json())
        assert bundle.figure.path == "rating.grade"
        assert verify_figure(bundle, JsonRpcReader(dev_chain.rpc_url)).valid
        report = ledger.get(f"/v1/evaluations/{identifier}/report")
        assert f"{PUBLIC_BASE}/v/{identifier}" in report.text  # the QR code's text
        assert _publish(ledger, owner, identifier, "withdraw").json()["published"] is False
        assert anonymous.get(bundle_url).status_code == 404
    assert _publish(ledger, owner, identifier, "publish").status_code == 200


def _checks(page: Page) -> dict[str, str]:
    """Each check shown, by name, with its status (the ``check-<status>`` class)."""
    return {
        item.locator(".name").inner_text(): str(item.get_attribute("class")).split("check-")[-1]
        for item in page.locator(".check").all()
    }


def test_public_page_verifies_in_the_browser(
    public: tuple[LedgerServer, FigureCase, str],
    page: Page,
    screenshot: Callable[[str], list[Path]],
) -> None:
    ledger, case, owner = public
    identifier = _identifier(case)
    assert _publish(ledger, owner, identifier, "publish").status_code == 200
    page.goto(f"{ledger.base_url}/v/{identifier}")
    page.wait_for_selector("main.state-valid", timeout=60_000)
    checks = _checks(page)
    assert checks["anchor-location"] == "passed"  # read from the chain, by the browser
    assert checks["figures"] == "passed" and checks["rating"] == "passed"
    assert page.locator("[data-figure='rating.grade']").inner_text() == case.grade.figure.value
    screenshot("public-evaluation-valid")
    page.emulate_media(media="print")  # the page as printed: no header links, no download
    assert not page.locator("header.top").is_visible()
    screenshot("public-evaluation-print")


def test_tampered_bundle_turns_the_page_red_at_the_check(
    public: tuple[LedgerServer, FigureCase, str],
    page: Page,
    screenshot: Callable[[str], list[Path]],
) -> None:
    """A ledger (or anything between it and the visitor) that serves a bundle whose record was
    changed after signing: the browser names the check that caught it."""
    ledger, case, owner = public
    identifier = _identifier(case)
    assert _publish(ledger, owner, identifier, "publish").status_code == 200

    def tampered(route: Route) -> None:
        data = route.fetch().json()
        data["records"][3]["message"]["quantity"] = "99999"
        route.fulfill(status=200, content_type="application/json", body=json.dumps(data))

    page.route(f"**/v1/public/evaluations/{identifier}/proof", tampered)
    page.goto(f"{ledger.base_url}/v/{identifier}")
    page.wait_for_selector("main.state-invalid", timeout=60_000)
    checks = _checks(page)
    assert checks["records"] == "failed"
    assert checks["figures"] == "not-run"
    assert "RecordSignatureMismatch" in page.locator("[data-role='reason']").inner_text()
    screenshot("public-evaluation-tampered")


def test_verify_page_checks_a_dropped_bundle(
    public: tuple[LedgerServer, FigureCase, str],
    page: Page,
    tmp_path: Path,
    screenshot: Callable[[str], list[Path]],
) -> None:
    ledger, case, _ = public
    path = tmp_path / "total.json"
    path.write_text(json.dumps(case.total.to_json()), encoding="utf-8")
    page.goto(f"{ledger.base_url}/verify")
    page.set_input_files("[data-role='file']", str(path))
    page.wait_for_selector("main.state-valid", timeout=60_000)
    assert _checks(page)["anchored"] == "passed"
    screenshot("verify-valid")


def test_verify_page_checks_an_asset_bundle(
    public: tuple[LedgerServer, FigureCase, str],
    anchor: AnchorContract,
    operator_account: LocalAccount,
    page: Page,
    tmp_path: Path,
    screenshot: Callable[[str], list[Path]],
) -> None:
    """A holding proof passes every check in the browser and the page says what it proves, as
    of which operation; a history with an operation left out turns it red at ``history``."""
    ledger, _, _ = public
    case = make_asset_case(anchor, operator_account)
    valid, broken = tmp_path / "holding.json", tmp_path / "broken.json"
    valid.write_text(json.dumps(case.bundle.to_json()), encoding="utf-8")
    dropped = tamper_asset(case.bundle, lambda d: d["operations"].pop(1))
    broken.write_text(json.dumps(dropped.to_json()), encoding="utf-8")
    page.goto(f"{ledger.base_url}/verify")
    page.set_input_files("[data-role='file']", str(valid))
    page.wait_for_selector("main.state-valid", timeout=60_000)
    assert _checks(page) == dict.fromkeys(ASSET_CHECKS, "passed")
    shown = page.locator("[data-role='reason']").inner_text()
    assert f"as of operation 4 (digest 0x{case.digests[-1].hex()})" in shown
    screenshot("verify-asset-valid")
    page.set_input_files("[data-role='file']", str(broken))
    page.wait_for_selector("main.state-invalid", timeout=60_000)
    assert _checks(page)["history"] == "failed"
    assert "HistoryBroken" in page.locator("[data-role='reason']").inner_text()
