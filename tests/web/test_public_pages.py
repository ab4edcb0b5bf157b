"""The public 碳效码 page and /verify, against a real ledger and chain in a real browser: an
enterprise publishes an evaluation, anyone fetches its proof without a key, the page verifies
it in the browser (green), a tampered bundle turns it red at the check that catches it, and
withdrawing ends the publication. The report's QR code names the public page."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, Route
from sqlalchemy import select, update
from sqlmodel import Session
from web3 import Web3

from anchoring.anchor_contract import AnchorContract
from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.local_server import start_server
from devtools.publishing import next_statement, post_statement, sign_and_post
from devtools.seeding import enterprise_key, enterprise_secret
from ledger_api.commands.serve import build_worker
from ledger_api.core.db import make_engine
from ledger_api.core.models import Evaluation
from ledger_api.registry.events import record_event
from tests.conftest import LedgerServer, server_env
from tests.verifier.asset_bundle_factory import make_asset_case
from tests.verifier.asset_bundle_factory import tamper as tamper_asset
from tests.verifier.figure_case import ENTERPRISE_A, ENTERPRISE_B, FigureCase, build_case
from verifier.checks.asset import ASSET_CHECKS
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.checks.kernel import VerificationResult
from verifier.protocol.publication import (
    PUBLISHED,
    ZERO_PREV,
    Publication,
    publication_event,
    sign_publication,
)
from verifier.protocol.typed_data import Domain
from verifier.rpc import JsonRpcReader

PUBLIC_BASE = "https://carbon.example.org"
REPO = Path(__file__).resolve().parents[2]
KEY_A = enterprise_secret(ENTERPRISE_A)


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
    """As the enterprise does it: a statement its registry key signs, with its API key."""
    with ledger.client() as http:
        domain = ledger.ledger_client().domain()
        return sign_and_post(http, token, domain, KEY_A, identifier, action)


def test_publish_serves_the_proof_without_a_key_until_withdrawn(
    public: tuple[LedgerServer, FigureCase, str], dev_chain: DevChain
) -> None:
    ledger, case, owner = public
    identifier = _identifier(case)
    bundle_url = f"/v1/public/evaluations/{identifier}/proof"
    with httpx.Client(base_url=ledger.base_url, timeout=60) as anonymous:
        assert anonymous.get(bundle_url).status_code == 404  # not published yet
        assert anonymous.get(f"/v/{identifier}").status_code == 404
    admin = ledger.post(f"/v1/evaluations/{identifier}/publish", token=ledger.token)
    assert admin.status_code == 404  # only the enterprise decides what of its own is public
    published = _publish(ledger, owner, identifier, "publish")
    assert published.status_code == 200, published.text
    assert published.json()["published"] and published.json()["page"] == f"/v/{identifier}"
    with httpx.Client(base_url=ledger.base_url, timeout=60) as anonymous:
        answer = anonymous.get(bundle_url)
        assert answer.status_code == 200
        bundle = parse_figure_bundle(answer.json())
        assert bundle.figure.path == "rating.grade"
        result = verify_figure(bundle, JsonRpcReader(dev_chain.rpc_url), published=True)
        assert result.valid, result.to_json()
        assert "published by " + ENTERPRISE_A in _detail(result, "publication")
        report = ledger.get(f"/v1/evaluations/{identifier}/report")
        assert f"{PUBLIC_BASE}/v/{identifier}" in report.text  # the QR code's text
        assert _publish(ledger, owner, identifier, "withdraw").json()["published"] is False
        assert anonymous.get(bundle_url).status_code == 404
    assert _publish(ledger, owner, identifier, "publish").status_code == 200


def _post(ledger: LedgerServer, token: str, statement: Publication, key: bytes) -> Any:
    with ledger.client() as http:
        return post_statement(http, token, ledger.ledger_client().domain(), key, statement)


def _state(ledger: LedgerServer, token: str, identifier: str) -> dict[str, Any]:
    answer = ledger.get(f"/v1/evaluations/{identifier}/publication", token=token)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _problem(answer: Any) -> tuple[int, str, str]:
    error = answer.json()["error"]
    return answer.status_code, error["code"], error.get("field")


def test_only_the_enterprises_key_publishes(
    public: tuple[LedgerServer, FigureCase, str], operator_account: LocalAccount
) -> None:
    """The operator (or anyone holding the enterprise's API key but not its registry key)
    tries every way to publish: unsigned, signed by its own key, a statement of another entry
    or action, a replay. Each is refused with its code, and nothing is written."""
    ledger, case, owner = public
    identifier = _identifier(case)
    before = _state(ledger, owner, identifier)
    unsigned = ledger.post(f"/v1/evaluations/{identifier}/publish", token=owner)
    assert _problem(unsigned) == (422, "publication_unsigned", "publication")
    with ledger.client() as http:
        statement = next_statement(http, owner, identifier, "publish")
    operator_key = bytes(operator_account.key)
    forged = _post(ledger, owner, statement, operator_key)
    assert _problem(forged) == (422, "signer_not_enterprise", "signature")
    other_entry = replace(statement, entry="0x" + "ab" * 32)
    assert _problem(_post(ledger, owner, other_entry, KEY_A)) == (
        422,
        "publication_mismatch",
        "publication.entry",
    )
    as_withdrawal = replace(statement, action="withdraw")
    with ledger.client() as http:  # a withdrawal posted to the publish route
        answer = http.post(
            f"/v1/evaluations/{identifier}/publish",
            headers={"Authorization": f"Bearer {owner}"},
            json={
                "publication": as_withdrawal.to_message(),
                "signature": "0x"
                + sign_publication(KEY_A, ledger.ledger_client().domain(), as_withdrawal).hex(),
            },
        )
    assert _problem(answer) == (422, "publication_mismatch", "publication.action")
    assert _state(ledger, owner, identifier) == before  # nothing of the above was stored
    stored = _post(ledger, owner, statement, KEY_A)
    assert stored.status_code == 200, stored.text
    replayed = _post(ledger, owner, statement, KEY_A)
    assert _problem(replayed) == (409, "publication_head_moved", "publication.prev")
    after = _state(ledger, owner, identifier)
    assert after["index"] == before["index"] + 1 and after["published"]
    assert after["signer"] == enterprise_key(ENTERPRISE_A).address


def _operator_db(ledger: LedgerServer) -> Session:
    """The operator's own access to the ledger's database, past every API check."""
    return Session(make_engine(ledger.settings().effective_database_url))


def test_a_publication_the_operator_made_fails_the_check(
    public: tuple[LedgerServer, FigureCase, str],
    operator_account: LocalAccount,
    dev_chain: DevChain,
) -> None:
    """The operator marks B's evaluation published in the database (B never did), then adds a
    statement it signed with its own key, with the ledger's own code. The public bundle is
    served either way; the verifier fails ``publication`` with the code of each forgery."""
    ledger, case, _ = public
    identifier = str(case.second.entry["identifier"])
    domain = ledger.ledger_client().domain()
    with _operator_db(ledger) as db:
        db.execute(
            update(Evaluation)
            .where(Evaluation.identifier == identifier)  # type: ignore[arg-type]
            .values(published_at=datetime.now(UTC))
        )
        db.commit()
    rpc = JsonRpcReader(dev_chain.rpc_url)
    bundle = parse_figure_bundle(ledger.get(f"/v1/public/evaluations/{identifier}/proof").json())
    unsigned = verify_figure(bundle, rpc, published=True)
    assert (unsigned.failed_check, unsigned.failure.code) == (  # type: ignore[union-attr]
        "publication",
        "PublicationMissing",
    )
    with _operator_db(ledger) as db:
        row = db.scalar(select(Evaluation).where(Evaluation.identifier == identifier))
        assert row is not None
        statement = Publication(
            "publish", ENTERPRISE_B, identifier, row.digest, 1, ZERO_PREV, int(time.time())
        )
        signature = sign_publication(bytes(operator_account.key), domain, statement)
        body = publication_event(statement, signature)
        fields = {k: body[k] for k in ("enterprise", "publication", "signature")}
        event = record_event(db, PUBLISHED, identifier, **fields)
        row.publication_index, row.publication_head = 1, event.digest
        db.add(row)
        db.commit()
    forged = parse_figure_bundle(ledger.get(f"/v1/public/evaluations/{identifier}/proof").json())
    assert forged.publication is not None
    result = verify_figure(forged, rpc, published=True)
    assert (result.failed_check, result.failure.code) == (  # type: ignore[union-attr]
        "publication",
        "PublicationSignerMismatch",
    )


def _run_js(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node is not None, "node is needed (make setup)"
    done = subprocess.run(
        [node, str(REPO / "web-verifier" / "cli.mjs")],
        input=json.dumps({"rpc": None, "cases": cases}),
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        timeout=120,
    )
    return list(json.loads(done.stdout))


Change = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Change:
    """Set the field at a dotted ``path`` of a bundle's JSON form."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for part in parents:
            data = data[part]
        data[last] = value

    return change


def _resign(key: bytes) -> Change:
    def change(data: dict[str, Any]) -> None:
        statement = Publication.from_message(data["publication"]["event"]["publication"])
        domain = Domain(data["domain"]["chainId"], data["domain"]["verifyingContract"])
        signature = sign_publication(key, domain, statement)
        data["publication"]["event"]["signature"] = "0x" + signature.hex()

    return change


def _as_withdrawal(data: dict[str, Any]) -> None:
    event = data["publication"]["event"]
    event["type"], event["publication"]["action"] = "evaluation.withdrawn", "withdraw"


def test_both_verifiers_agree_on_every_forged_publication(
    public: tuple[LedgerServer, FigureCase, str], operator_account: LocalAccount
) -> None:
    """The anchored statement passes; each way an operator could forge or bend it fails at
    ``publication`` with the same name in Python and in the browser's verifier."""
    ledger, case, owner = public
    identifier = _identifier(case)
    if not _state(ledger, owner, identifier)["published"]:
        assert _publish(ledger, owner, identifier, "publish").status_code == 200
    build_worker(ledger.settings()).run_once()  # the statement anchored
    valid = ledger.get(f"/v1/public/evaluations/{identifier}/proof").json()
    assert valid["publication"]["inclusion"] is not None
    statement = "publication.event.publication"
    edits: dict[str, tuple[Change, str | None]] = {
        "valid": (lambda data: None, None),
        "unanchored": (_set("publication.inclusion", None), None),
        "missing": (lambda data: data.pop("publication"), "PublicationMissing"),
        "operator-signed": (_resign(bytes(operator_account.key)), "PublicationSignerMismatch"),
        "withdrawal": (_as_withdrawal, "PublicationMismatch"),
        "other-entry": (_set(f"{statement}.entry", "0x" + "ab" * 32), "PublicationMismatch"),
        "leading-zero": (_set(f"{statement}.index", "01"), "PublicationInvalid"),
        "no-signature": (_set("publication.event.signature", "0x"), "PublicationUnsigned"),
        "leaf": (
            _set("publication.inclusion.leaf.hash", "0x" + "cd" * 32),
            "PublicationUnanchored",
        ),
    }
    bundles = []
    for change, _ in edits.values():
        data = copy.deepcopy(valid)
        change(data)
        bundles.append(data)
    cases = [{"kind": "figure", "bundle": b, "online": False, "published": True} for b in bundles]
    for (name, (_, code)), data, browser in zip(
        edits.items(), bundles, _run_js(cases), strict=True
    ):
        python = verify_figure(parse_figure_bundle(data), None, published=True)
        got = None if python.failure is None else python.failure.code
        assert got == code, (name, python.to_json())
        assert python.failed_check == (None if code is None else "publication"), name
        shown = (browser.get("failedCheck"), browser.get("failure"))
        assert shown == (python.failed_check, got), (name, browser)
        if name == "valid":
            assert ("publication", "passed") in {(c.name, c.status.value) for c in python.checks}


def _detail(result: VerificationResult, name: str) -> str:
    (check,) = [c for c in result.checks if c.name == name]
    return f"{check.status.value}: {check.detail}"


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
    assert checks["publication"] in ("passed", "warning")  # "warning": not anchored yet
    assert page.locator("[data-role='publisher']").is_visible()
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


def test_a_publication_without_the_enterprises_signature_turns_the_page_red(
    public: tuple[LedgerServer, FigureCase, str],
    page: Page,
    screenshot: Callable[[str], list[Path]],
) -> None:
    """An operator serving the page without the enterprise's statement (as it would for a
    publication it made itself): every figure still checks, but the page fails at
    ``publication`` and never says the enterprise published it."""
    ledger, case, owner = public
    identifier = _identifier(case)
    if not _state(ledger, owner, identifier)["published"]:
        assert _publish(ledger, owner, identifier, "publish").status_code == 200

    def unsigned(route: Route) -> None:
        data = route.fetch().json()
        data.pop("publication")
        route.fulfill(status=200, content_type="application/json", body=json.dumps(data))

    page.route(f"**/v1/public/evaluations/{identifier}/proof", unsigned)
    page.goto(f"{ledger.base_url}/v/{identifier}")
    page.wait_for_selector("main.state-invalid", timeout=60_000)
    checks = _checks(page)
    assert checks["rating"] == "passed" and checks["publication"] == "failed"
    assert "PublicationMissing" in page.locator("[data-role='reason']").inner_text()
    assert not page.locator("[data-role='publisher']").is_visible()
    screenshot("public-evaluation-unsigned-publication")


def test_the_enterprise_evaluates_and_publishes_signing_in_its_browser(
    public: tuple[LedgerServer, FigureCase, str],
    page: Page,
    tmp_path: Path,
    screenshot: Callable[[str], list[Path]],
) -> None:
    """The enterprise signs in with its API key, runs an evaluation from the form, publishes it
    with its registry key pasted into the page, and withdraws it with its keystore file: the
    key never goes to the server (only the statement and its signature are posted)."""
    ledger, _, owner = public
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.post_data or "") if r.method == "POST" else None)
    page.goto(f"{ledger.base_url}/sign-in")
    page.get_by_label("API key").fill(owner)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{ledger.base_url}/portal")
    for path in ("/portal/evaluate", "/portal/publication"):  # a form from another site
        forged = page.request.post(ledger.base_url + path, form={"periodStart": "2025-06-01"})
        assert forged.status == 403 and "csrf_failed" in forged.text()
    page.locator("a[href='/portal/evaluate']").click()
    page.fill("#periodStart", "2025-06-01")
    page.fill("#periodEnd", "2025-06-01")
    page.fill("#addedValue", "10")
    screenshot("portal-evaluate")
    page.locator("main form button[type=submit]").click()
    page.wait_for_selector("[data-role='publication-state'][data-published='no']")
    identifier = page.locator("main code").first.inner_text()
    page.fill("#private_key", "0x" + KEY_A.hex())
    page.locator("form[data-role='sign'] button[type=submit]").click()
    page.wait_for_selector("[data-role='publication-state'][data-published='yes']")
    screenshot("portal-evaluation-published")
    state = _state(ledger, owner, identifier)
    assert state["published"] and state["index"] == 1
    keystore = tmp_path / "enterprise-key.json"
    keystore.write_text(json.dumps(Account.encrypt(KEY_A, "demo pass", iterations=2**12)))
    page.set_input_files("#keystore", str(keystore))
    page.fill("#passphrase", "demo pass")
    page.locator("form[data-role='sign'] button[type=submit]").click()
    page.wait_for_selector("[data-role='publication-state'][data-published='no']")
    assert _state(ledger, owner, identifier)["index"] == 2
    assert all(KEY_A.hex() not in body and "demo pass" not in body for body in posted)
    assert not any("enterprise-key" in body for body in posted)


def test_a_key_that_is_not_the_registry_key_is_refused_in_the_page(
    public: tuple[LedgerServer, FigureCase, str], page: Page
) -> None:
    """Signing with another key (here the operator's) is caught before anything is posted;
    the API would refuse it too (``signer_not_enterprise``)."""
    ledger, case, owner = public
    page.goto(f"{ledger.base_url}/sign-in")
    page.get_by_label("API key").fill(owner)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{ledger.base_url}/portal")
    page.goto(f"{ledger.base_url}/portal/evaluations/{_identifier(case)}")
    before = _state(ledger, owner, _identifier(case))["index"]
    page.fill("#private_key", "0x" + "11" * 32)
    page.locator("form[data-role='sign'] button[type=submit]").click()
    error = page.locator("[data-role='sign-error']")
    error.wait_for(state="visible")
    assert "registry key is " + enterprise_key(ENTERPRISE_A).address in error.inner_text()
    assert _state(ledger, owner, _identifier(case))["index"] == before


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
