"""Green certificates (绿证) and the market-based Scope 2 as the attacker sees them.

The enterprise signs a claim of a serial range against a period; the ledger takes each serial
once across all enterprises, reports Scope 2 location-based and market-based, and anchors the
claim; ``carbon-verify figure`` checks the claims and recomputes both figures at ``scope2``.
A second claim of the same certificates, a stranger's key, a claim edited in the database, a
vintage outside the period, overlapping claims slipped in by the operator and a forged entry
must each be refused with a named code or fail at a named check.

One ledger and one enterprise for the module; each case is a day of its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
import rfc8785
from eth_account.signers.local import LocalAccount
from sqlalchemy import text
from web3 import Web3

from accounting.factors import load_factor_set
from accounting.grading import grade, load_ruleset, parse_ruleset
from accounting.grid import select_grid_factor
from accounting.numbers import decimal_str, reported_str
from anchoring.devchain import DevChain
from anchoring.worker import AnchorWorker
from devtools.seeding import enterprise_secret, grid_record, register
from ledger_api.commands.serve import build_worker
from terminal.client import Terminal
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.adversary import rewrite_entry, verify
from tests.ledger_api.evaluations.helpers import HOUR
from tests.ledgers import own_ledger
from tests.verifier.failures import failed
from tests.verifier.js_runner import run_js
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.checks.kernel import CheckStatus, VerificationResult
from verifier.formats.figure import FigureProofBundle
from verifier.protocol.green_certificates import GreenCertificateClaim, sign_claim
from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.rpc import JsonRpcReader
from verifier.trust import ReferenceRoot, load_default_reference

ENTERPRISE = "88.118.8/ENT-AL-GEC"
GRID = "88.118.8/SRC-AL-GEC-GRID"
OTHER = "88.118.8/ENT-AL-GEC-OTHER"
OTHER_GRID = "88.118.8/SRC-AL-GEC-OTHER-GRID"
HUZHOU = "330502"
JUNE_2025_CST = 1_748_707_200  # 2025-06-01T00:00:00+08:00
DAYS = 14
HOURLY_MWH = Decimal(10)  # each reading: 10,000 thousandths of a MWh
ADDED_VALUE = "20"


# One anchoring worker per ledger of the module: it renews its own lease from round to round.
_WORKERS: dict[str, AnchorWorker] = {}


def _anchor(ledger: LedgerServer) -> None:
    if ledger.base_url not in _WORKERS:
        _WORKERS[ledger.base_url] = build_worker(ledger.settings())
    _WORKERS[ledger.base_url].run_once()


def _readings(ledger: LedgerServer, enterprise: str, source: str, hours: int) -> None:
    """A terminal registered for ``source`` signs and submits ``hours`` hourly grid readings of
    10 MWh from 1 June 2025, and one more just after them, so the last day is closed."""
    terminal = Terminal.create()
    register(ledger.server, enterprise, [source], terminal, industry="aluminium", region=HUZHOU)
    client = ledger.ledger_client()
    domain = client.domain()
    starts = [JUNE_2025_CST + i * HOUR for i in range(hours + 1)]
    where = (enterprise, source)
    records = [grid_record(terminal, where, i + 1, at, HOUR, 10_000) for i, at in enumerate(starts)]
    client.submit([terminal.sign(domain, record) for record in records])


@pytest.fixture(scope="module")
def ledger(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LedgerServer]:
    """One ledger for the module: the enterprise's hourly grid readings, a day per case, and a
    second enterprise that wants the same certificates."""
    with own_ledger(dev_chain, w3, operator_account, tmp_path_factory.mktemp("green")) as server:
        _readings(server, ENTERPRISE, GRID, 24 * DAYS)
        _readings(server, OTHER, OTHER_GRID, 24)
        _anchor(server)
        yield server


def _day(n: int) -> date:
    return date(2025, 6, n)


def _claim(day: int, first: int, last: int, **changes: Any) -> GreenCertificateClaim:
    claim = GreenCertificateClaim(
        enterprise=ENTERPRISE,
        period_start=_day(day),
        period_end=_day(day),
        programme="GEC",
        serial_prefix="T-WIND-2025",
        first_serial=first,
        last_serial=last,
        mwh=last - first + 1,
        vintage_start=date(2025, 5, 1),
        vintage_end=date(2025, 5, 31),
        technology="wind",
        attachment_hash="0x" + keccak256(b"certificate file").hex(),
        claimed_at=int(time.time()),
    )
    return replace(claim, **changes)


def _signed(ledger: LedgerServer, claim: GreenCertificateClaim, key: bytes | None = None) -> dict:
    domain = ledger.ledger_client().domain()
    secret = key if key is not None else enterprise_secret(claim.enterprise)
    return {
        "claim": claim.to_message(),
        "signature": "0x" + sign_claim(secret, domain, claim).hex(),
    }


def _post(ledger: LedgerServer, claim: GreenCertificateClaim, key: bytes | None = None) -> Any:
    return ledger.post("/v1/green-certificate-claims", json=_signed(ledger, claim, key))


def _refusal(response: Any) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["field"]


def _evaluate(ledger: LedgerServer, day: int) -> dict[str, Any]:
    period = _day(day).isoformat()
    body = {"enterprise": ENTERPRISE, "periodStart": period, "periodEnd": period}
    body |= {"addedValue": ADDED_VALUE, "ruleset": "zj-huzhou-2021"}
    made = ledger.post("/v1/evaluations", json=body)
    assert made.status_code == 201, made.text
    return made.json()


def _bundle(ledger: LedgerServer, identifier: str, figure: str = "total") -> FigureProofBundle:
    _anchor(ledger)
    got = ledger.get(f"/v1/evaluations/{identifier}/proof", params={"figure": figure})
    assert got.status_code == 200, got.text
    return parse_figure_bundle(got.json())


def _verified(ledger: LedgerServer, identifier: str, figure: str = "total") -> VerificationResult:
    return verify(ledger, _bundle(ledger, identifier, figure))


def _check(result: VerificationResult, name: str) -> tuple[CheckStatus, str]:
    (check,) = [c for c in result.checks if c.name == name]
    return check.status, check.detail


def _grid_factor() -> Decimal:
    """The grid factor the selection rule gives a Huzhou firm for a 2025 period."""
    return select_grid_factor(load_factor_set("cn-ghg-v2"), HUZHOU, 2025).factor.value


def _count(ledger: LedgerServer, table: str) -> int:
    [(count,)] = ledger.sql(f"SELECT count(*) FROM {table}")
    return count


# --- the honest path --------------------------------------------------------------------------


def test_certificates_give_a_market_based_figure_proven_digit_for_digit(
    ledger: LedgerServer,
) -> None:
    body = _signed(ledger, _claim(1, 1, 100))
    claimed = ledger.post("/v1/green-certificate-claims", json=body)
    assert claimed.status_code == 201, claimed.text
    again = ledger.post("/v1/green-certificate-claims", json=body)  # a retry: stored once
    assert (again.status_code, again.json()["event"]) == (200, claimed.json()["event"])
    made = _evaluate(ledger, 1)
    scope2 = made["entry"]["scope2"]
    purchased, factor = 24 * HOURLY_MWH, _grid_factor()
    assert Decimal(scope2["purchasedMWh"]) == purchased
    assert scope2["locationBased"]["reported"] == reported_str(purchased * factor)
    assert scope2["marketBased"]["reported"] == reported_str((purchased - 100) * factor)
    assert scope2["certificates"] == {
        "claims": [claimed.json()["event"]],
        "claimedMWh": "100",
        "usedMWh": "100",
    }
    assert scope2["basis"] == "location"  # the shipped ruleset grades location-based
    assert scope2["residualFactor"]["value"] == decimal_str(factor)
    # The grade still divides the location-based total.
    total = made["entry"]["accounting"]["figures"]["exact"]["total"]
    assert Decimal(made["entry"]["rating"]["emissions_t"]) == Decimal(total)
    result = _verified(ledger, made["identifier"], "scope2.marketBased")
    assert result.valid, result.failure
    status, detail = _check(result, "scope2")
    assert status is CheckStatus.PASSED
    assert "other enterprises are not in this bundle" in detail  # said, not hidden
    report = ledger.get(f"/v1/evaluations/{made['identifier']}/report")
    assert report.status_code == 200
    assert scope2["marketBased"]["reported"] in report.text
    assert scope2["locationBased"]["reported"] in report.text


def test_certificates_beyond_consumption_are_capped(ledger: LedgerServer) -> None:
    assert _post(ledger, _claim(2, 1001, 1500)).status_code == 201  # 500 MWh for 240 used
    scope2 = _evaluate(ledger, 2)["entry"]["scope2"]
    assert (scope2["certificates"]["claimedMWh"], scope2["certificates"]["usedMWh"]) == (
        "500",
        "240",
    )
    assert scope2["marketBased"] == {"exact": "0", "reported": "0.000"}


def test_a_period_without_claims_reports_no_market_block(ledger: LedgerServer) -> None:
    made = _evaluate(ledger, 8)
    assert "scope2" not in made["entry"]
    result = _verified(ledger, made["identifier"])
    assert result.valid, result.failure
    assert _check(result, "scope2") == (
        CheckStatus.PASSED,
        "no green certificates claimed: Scope 2 is location-based only",
    )


# --- refused at the API -----------------------------------------------------------------------


def test_a_claim_needs_a_key_and_an_enterprise_the_caller_manages(ledger: LedgerServer) -> None:
    body = _signed(ledger, _claim(10, 9501, 9510))
    anonymous = httpx.post(f"{ledger.base_url}/v1/green-certificate-claims", json=body)
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthenticated")
    stranger = _claim(10, 9501, 9510, enterprise="88.118.8/ENT-NOBODY")
    hidden = _post(ledger, stranger, b"\x22" * 32)
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "enterprise_not_found")
    types = httpx.get(f"{ledger.base_url}/v1/green-certificate-claims/typed-data").json()
    assert types["primaryType"] == "GreenCertificateClaim"


def test_a_certificate_claimed_by_another_enterprise_is_refused(ledger: LedgerServer) -> None:
    assert _post(ledger, _claim(3, 2001, 2100)).status_code == 201
    rows, events = _count(ledger, "green_certificate_claim"), _count(ledger, "registry_event")
    for first, last in ((2001, 2100), (2050, 2150), (1990, 2001), (2100, 2100), (1, 5000)):
        theirs = _claim(3, first, last, enterprise=OTHER)
        assert _refusal(_post(ledger, theirs)) == (
            409,
            "certificate_serials_claimed",
            "claim.firstSerial",
        ), (first, last)
    # The enterprise itself cannot reuse them for another day either.
    assert _refusal(_post(ledger, _claim(4, 2100, 2200)))[1] == "certificate_serials_claimed"
    assert (_count(ledger, "green_certificate_claim"), _count(ledger, "registry_event")) == (
        rows,
        events,
    )  # nothing half-written
    other_prefix = _claim(3, 2001, 2100, enterprise=OTHER, serial_prefix="T-SOLAR-2025")
    assert _post(ledger, other_prefix).status_code == 201  # another prefix: other certificates


STRANGER = b"\x11" * 32
BAD_CLAIMS: dict[str, tuple[GreenCertificateClaim, bytes | None, tuple[int, str, str]]] = {
    "stranger-key": (_claim(10, 9001, 9010), STRANGER, (422, "claim_signer_mismatch", "signature")),
    "vintage-2024": (
        _claim(10, 9001, 9010, vintage_start=date(2024, 11, 1), vintage_end=date(2024, 11, 30)),
        None,
        (422, "certificate_vintage_outside_period", "claim.vintageStart"),
    ),
    "serial-beyond-bigint": (
        _claim(10, 1 << 63, 1 << 63, mwh=1),
        None,
        (422, "invalid_claim", "claim.lastSerial"),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CLAIMS))
def test_bad_claims_are_refused(ledger: LedgerServer, case: str) -> None:
    claim, key, expected = BAD_CLAIMS[case]
    assert _refusal(_post(ledger, claim, key)) == expected


def test_a_claim_whose_mwh_is_not_its_serial_count_is_refused(ledger: LedgerServer) -> None:
    body = _signed(ledger, _claim(10, 9101, 9110))
    body["claim"]["mwh"] = "500"
    assert _refusal(ledger.post("/v1/green-certificate-claims", json=body)) == (
        422,
        "invalid_claim",
        "claim",
    )


# --- the operator and a colluding enterprise, caught by the verifier -------------------------


def _rewrite_claim(ledger: LedgerServer, event: str, change: Callable[[dict], None]) -> None:
    """The operator edits a not-yet-anchored claim event in its database, with its digest,
    leaf and range row, so the next round anchors the edited one."""
    [(stored, old_leaf)] = ledger.sql(
        "SELECT body, leaf_hash FROM registry_event WHERE digest = :event", event=event
    )
    body = json.loads(stored)
    change(body)
    canonical = rfc8785.dumps(body)
    digest = "0x" + keccak256(canonical).hex()
    hashed = "0x" + leaf_hash(LeafKind.REGISTRY_EVENT, bytes.fromhex(digest[2:]), bytes(32)).hex()
    claim = body["claim"]
    edit = {
        "body": canonical.decode(),
        "digest": digest,
        "hash": hashed,
        "leaf": old_leaf,
        "old": event,
        "first": int(claim["firstSerial"]),
        "last": int(claim["lastSerial"]),
        "mwh": int(claim["mwh"]),
    }
    with ledger.tampering() as db:
        db.execute(text("UPDATE leaf SET digest = :digest, hash = :hash WHERE hash = :leaf"), edit)
        db.execute(
            text(
                "UPDATE registry_event SET body = :body, digest = :digest, leaf_hash = :hash "
                "WHERE digest = :old"
            ),
            edit,
        )
        db.execute(
            text(
                "UPDATE green_certificate_claim SET event = :digest, first = :first, "
                "last = :last, mwh = :mwh WHERE event = :old"
            ),
            edit,
        )


def _with_signed(ledger: LedgerServer, claim: GreenCertificateClaim) -> Callable[[dict], None]:
    """Replace the event's claim and signature by ``claim``, signed by the enterprise."""
    signed = _signed(ledger, claim)
    return lambda body: body.update(signed)


def test_a_claim_edited_in_the_database_fails_at_its_signature(ledger: LedgerServer) -> None:
    event = _post(ledger, _claim(6, 3001, 3010)).json()["event"]
    _rewrite_claim(
        ledger, event, lambda body: body["claim"].update(lastSerial="3200", mwh="200")
    )  # 200 MWh of certificates the enterprise never signed for
    made = _evaluate(ledger, 6)
    assert made["entry"]["scope2"]["certificates"]["usedMWh"] == "200"  # the ledger believed it
    result = _verified(ledger, made["identifier"], "scope2.marketBased")
    assert failed(result) == ("scope2", "CertificateClaimSignerMismatch")


def test_a_vintage_outside_the_period_slipped_in_fails(ledger: LedgerServer) -> None:
    event = _post(ledger, _claim(7, 4001, 4010)).json()["event"]
    stale = _claim(7, 4001, 4010, vintage_start=date(2023, 1, 1), vintage_end=date(2023, 1, 31))
    _rewrite_claim(ledger, event, _with_signed(ledger, stale))  # signed, refused by the API
    made = _evaluate(ledger, 7)
    result = _verified(ledger, made["identifier"])
    assert failed(result) == ("scope2", "CertificateVintageInvalid")


def test_overlapping_claims_in_one_bundle_fail(ledger: LedgerServer) -> None:
    # Two claims of the day; the operator rewrites the second onto the first one's serials,
    # with a claim the enterprise did sign (the API would refuse it as claimed already).
    assert _post(ledger, _claim(9, 7001, 7100)).status_code == 201
    event = _post(ledger, _claim(9, 7201, 7210)).json()["event"]
    _rewrite_claim(ledger, event, _with_signed(ledger, _claim(9, 7051, 7060)))
    made = _evaluate(ledger, 9)
    result = _verified(ledger, made["identifier"])
    assert failed(result) == ("scope2", "CertificateSerialsOverlap")


def test_a_claim_whose_proof_was_altered_fails_at_scope2(ledger: LedgerServer) -> None:
    # The bundle's claim event says more than the anchored leaf committed to: its failure is
    # scope2's, as the figure-proof format lists it, not the added-value inputs'.
    assert _post(ledger, _claim(14, 5001, 5010)).status_code == 201
    made = _evaluate(ledger, 14)
    _anchor(ledger)
    got = ledger.get(f"/v1/evaluations/{made['identifier']}/proof")
    document = got.json()
    document["greenCertificates"]["claims"][0]["event"]["note"] = "added after anchoring"
    result = verify(ledger, parse_figure_bundle(document))
    assert failed(result) == ("scope2", "CertificateClaimInvalid")


def _market_lowered(entry: dict[str, Any]) -> None:
    entry["scope2"]["marketBased"] = {"exact": "0", "reported": "0.000"}


def _market_basis(entry: dict[str, Any]) -> None:
    entry["scope2"]["basis"] = "market"


@pytest.mark.parametrize(
    ("day", "forge", "expected"),
    [
        (4, _market_lowered, ("scope2", "Scope2Mismatch")),
        (5, _market_basis, ("scope2", "Scope2BasisMismatch")),
    ],
    ids=["market-figure", "basis"],
)
def test_a_forged_entry_fails_at_scope2(
    ledger: LedgerServer, day: int, forge: Callable[[dict], None], expected: tuple
) -> None:
    assert _post(ledger, _claim(day, 6001 + 100 * day, 6010 + 100 * day)).status_code == 201
    made = _evaluate(ledger, day)
    rewrite_entry(ledger, made["identifier"], forge)
    result = _verified(ledger, made["identifier"], "scope2.marketBased")
    assert failed(result) == expected


# --- a ruleset that grades market-based ------------------------------------------------------


def _market_ruleset() -> tuple[dict[str, Any], ReferenceRoot]:
    """The shipped ruleset stating ``scope2Basis: market`` under a version of its own, and
    reference data that publishes it (no shipped ruleset grades market-based)."""
    document = {**load_ruleset("zj-huzhou-2021").document, "scope2Basis": "market"}
    document["version"] = "1.0.0-market"
    ruleset = parse_ruleset(document)
    shipped = load_default_reference()
    rulesets = {**shipped.rulesets, (ruleset.id, ruleset.version): ruleset.digest}
    return document, replace(shipped, rulesets=rulesets)


def _graded_on(emissions: Callable[[dict[str, Any]], Decimal]) -> Callable[[dict], None]:
    """What an entry graded by the market ruleset says, grading ``emissions(entry)``."""
    document, _ = _market_ruleset()

    def change(entry: dict[str, Any]) -> None:
        entry["scope2"]["basis"] = "market"
        graded = grade(
            emissions(entry), Decimal(ADDED_VALUE), "aluminium", 2025, parse_ruleset(document)
        )
        entry["rating"] = graded.to_dict()

    return change


def _market_total(entry: dict[str, Any]) -> Decimal:
    block = entry["scope2"]
    total = Decimal(entry["accounting"]["figures"]["exact"]["total"])
    return total - Decimal(block["locationBased"]["exact"]) + Decimal(block["marketBased"]["exact"])


def _location_total(entry: dict[str, Any]) -> Decimal:
    return Decimal(entry["accounting"]["figures"]["exact"]["total"])


@pytest.mark.parametrize(
    ("day", "emissions", "expected"),
    [(10, _market_total, (None, None)), (13, _location_total, ("rating", "GradeMismatch"))],
    ids=["market-total", "location-total-under-market-basis"],
)
def test_a_market_ruleset_grades_the_market_based_total(
    ledger: LedgerServer, day: int, emissions: Callable[[dict], Decimal], expected: tuple
) -> None:
    """The verifier grades the total with Scope 2 market-based when the ruleset says so, and
    refuses a grade that ignores the certificates under such a ruleset (or uses them under a
    location one: ``Scope2BasisMismatch`` above)."""
    assert _post(ledger, _claim(day, 9701 + 1000 * day, 9800 + 1000 * day)).status_code == 201
    made = _evaluate(ledger, day)
    rewrite_entry(ledger, made["identifier"], _graded_on(emissions))
    document, reference = _market_ruleset()
    bundle = {**_bundle(ledger, made["identifier"], "rating.grade").to_json(), "ruleset": document}
    rpc = JsonRpcReader(ledger.env["CARBON_RPC_URL"])
    result = verify_figure(parse_figure_bundle(bundle), rpc, reference=reference)
    assert failed(result) == expected
    if result.valid:
        entry = bundle["entry"]
        assert (
            Decimal(entry["rating"]["emissions_t"]) == _market_total(entry) < _location_total(entry)
        )


# --- the browser verifier ---------------------------------------------------------------------


def test_the_browser_verifier_refuses_a_market_based_bundle_and_agrees_otherwise(
    ledger: LedgerServer,
) -> None:
    """The browser verifier does not recompute Scope 2: it gives no verdict on an entry with
    claims, says to use carbon-verify, and agrees with it on a bundle carrying claims its
    entry does not name."""
    assert _post(ledger, _claim(11, 8001, 8050)).status_code == 201
    made = [_evaluate(ledger, day)["identifier"] for day in (11, 12)]
    market = _bundle(ledger, made[0], "scope2.marketBased")
    plain = _bundle(ledger, made[1]).to_json()
    smuggled = {**plain, "greenCertificates": market.to_json()["greenCertificates"]}
    python = [verify(ledger, market), verify(ledger, parse_figure_bundle(smuggled))]
    assert python[0].valid, python[0].failure
    assert failed(python[1]) == ("scope2", "CertificateClaimMismatch")
    cases = [
        {"kind": "figure", "bundle": b, "online": True} for b in (market.to_json(), plain, smuggled)
    ]
    refused, plain_js, smuggled_js = run_js(ledger.env["CARBON_RPC_URL"], cases)
    assert refused["error"].startswith("Unsupported: ")
    assert "market-based Scope 2" in refused["error"] and "carbon-verify figure" in refused["error"]
    assert plain_js["valid"] is True
    assert ("scope2", "passed") in [(c["name"], c["status"]) for c in plain_js["checks"]]
    assert (smuggled_js["failedCheck"], smuggled_js["failure"]) == failed(python[1])


# --- PostgreSQL: concurrent claims of the same certificates -----------------------------------


def test_concurrent_overlapping_claims_store_one_on_postgres(ledger_pg: LedgerServer) -> None:
    """Eight overlapping ranges (no two sharing an end, so no unique constraint can tell)
    posted at once by two enterprises: the lock lets exactly one through."""
    for enterprise, source in ((ENTERPRISE, GRID), (OTHER, OTHER_GRID)):
        register(ledger_pg.server, enterprise, [source], Terminal.create(), industry="aluminium")
    bodies = [
        _signed(ledger_pg, _claim(1, 100 + i, 200 + 2 * i, enterprise=(ENTERPRISE, OTHER)[i % 2]))
        for i in range(8)
    ]
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(
            pool.map(lambda b: ledger_pg.post("/v1/green-certificate-claims", json=b), bodies)
        )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 7, [a.text for a in answers]
    refused = {a.json()["error"]["code"] for a in answers if a.status_code == 409}
    assert refused == {"certificate_serials_claimed"}
