"""The carbon-asset book over real HTTP: signed operations, balances, bad input, proofs."""

from __future__ import annotations

from dataclasses import replace

import httpx

from ledger_api.commands.serve import build_worker
from tests.ledger_api.assets.book import (
    CEMENT,
    FIRST,
    LAST,
    LOT,
    RETIRED,
    STEEL,
    SURRENDERED,
    TRANSFERRED,
    Book,
)
from verifier.checks.asset import parse_asset_bundle, verify_asset
from verifier.protocol.asset_ops import ZERO_PREV
from verifier.rpc import JsonRpcReader


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_issue_transfer_retire_surrender_and_balances(book: Book) -> None:
    issued = book.post(book.op("issue", FIRST, LAST, reference="CN-ETS issuance 2025-0001"))
    assert issued.status_code == 201, issued.text
    assert book.post(book.op("transfer", *TRANSFERRED, recipient=CEMENT)).status_code == 201
    assert book.post(book.op("accept", *TRANSFERRED, owner=CEMENT)).status_code == 201
    assert book.post(book.op("retire", *RETIRED, reference="2025 voluntary")).status_code == 201
    assert book.post(book.op("surrender", *SURRENDERED, reference="CEA 2025")).status_code == 201

    total = LAST - FIRST + 1
    moved = TRANSFERRED[1] - TRANSFERRED[0] + 1
    retired = RETIRED[1] - RETIRED[0] + 1
    surrendered = SURRENDERED[1] - SURRENDERED[0] + 1
    steel = {"held": total - moved - retired - surrendered, "retired": retired}
    assert book.balances(STEEL) == {**steel, "surrendered": surrendered}
    assert book.balances(CEMENT) == {"held": moved, "retired": 0, "surrendered": 0}
    lot = book.ledger.get(f"/v1/assets/{LOT}").json()
    ranges = [(r["first"], r["last"], r["status"], r["holder"]) for r in lot["ranges"]]
    assert ranges == [
        (*TRANSFERRED, "held", CEMENT),
        (*RETIRED, "retired", STEEL),
        (*SURRENDERED, "surrendered", STEEL),
        (SURRENDERED[1] + 1, LAST, "held", STEEL),
    ]
    assert lot["operations"] == 5


def test_bad_operations_are_refused_and_nothing_is_written(book: Book) -> None:
    assert book.post(book.op("issue", FIRST, LAST)).status_code == 201
    assert book.post(book.op("retire", *RETIRED)).status_code == 201
    before = book.ledger.get(f"/v1/assets/{LOT}").json()
    cases = [
        # transfer beyond the balance: cement holds nothing
        (book.op("transfer", FIRST, FIRST + 9, owner=CEMENT, recipient=STEEL), None),
        # more than the steel works holds: the lot ends at LAST
        (book.op("transfer", FIRST, LAST, recipient=CEMENT), None),
        # a serial already retired
        (book.op("retire", RETIRED[0], RETIRED[0]), None),
        # signed by the cement works' key, though the steel works owns the serials
        (book.op("transfer", FIRST, FIRST + 9, recipient=CEMENT), CEMENT),
        # a replay of an old state (prev is not the head)
        (book.op("transfer", FIRST, FIRST + 9, recipient=CEMENT, prev=ZERO_PREV), None),
    ]
    expected = [
        (409, "insufficient_holding"),
        (409, "already_retired"),
        (409, "already_retired"),
        (403, "signer_not_owner"),
        (409, "stale_prev"),
    ]
    assert [_error(book.post(op, signer)) for op, signer in cases] == expected
    overlapping = replace(book.op("issue", LAST - 9, LAST + 10), asset=LOT + "-B", prev=ZERO_PREV)
    assert _error(book.post(overlapping)) == (409, "serial_overlap")
    assert book.ledger.get(f"/v1/assets/{LOT}").json() == before
    assert book.ledger.get(f"/v1/assets/{LOT}-B").status_code == 404
    malformed = {"operation": {"action": "mint"}, "signature": "0x" + "00" * 65}
    response = book.ledger.post("/v1/asset-operations", json=malformed)
    assert _error(response) == (422, "invalid_operation")


def test_a_repeated_operation_is_stored_once(book: Book) -> None:
    op = book.op("issue", FIRST, LAST)
    assert book.post(op).status_code == 201
    again = book.post(op)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert book.ledger.get(f"/v1/assets/{LOT}").json()["operations"] == 1


def test_holding_and_retirement_prove_against_the_chain(book: Book) -> None:
    assert book.post(book.op("issue", FIRST, LAST)).status_code == 201
    assert book.post(book.op("transfer", *TRANSFERRED, recipient=CEMENT)).status_code == 201
    assert book.post(book.op("accept", *TRANSFERRED, owner=CEMENT)).status_code == 201
    retired = book.post(book.op("retire", *RETIRED, reference="2025 voluntary"))
    params = {"holder": CEMENT, "first": TRANSFERRED[0], "last": TRANSFERRED[1]}
    pending = book.ledger.get(f"/v1/assets/{LOT}/proof", params=params)
    assert _error(pending) == (409, "not_anchored")
    build_worker(book.ledger.settings()).run_once()

    rpc = JsonRpcReader(book.ledger.env["CARBON_RPC_URL"])
    holding = book.ledger.get(f"/v1/assets/{LOT}/proof", params=params)
    assert holding.status_code == 200, holding.text
    result = verify_asset(parse_asset_bundle(holding.json()), rpc)
    assert result.valid, result.to_json()
    digest = retired.json()["digest"]
    retirement = book.ledger.get(f"/v1/asset-operations/{digest}/proof")
    result = verify_asset(parse_asset_bundle(retirement.json()), rpc)
    assert result.valid, result.to_json()
    not_held = book.ledger.get(
        f"/v1/assets/{LOT}/proof", params={**params, "holder": STEEL}
    )  # the cement works holds these now
    assert _error(not_held) == (422, "not_held")


def test_a_consenting_enterprise_appears_in_its_financiers_view(book: Book) -> None:
    assert book.post(book.op("issue", FIRST, LAST)).status_code == 201
    assert book.post(book.op("retire", *RETIRED, reference="2025 voluntary")).status_code == 201
    bank = book.ledger.post("/v1/principals", json={"name": "bank", "role": "financier"}).json()
    token = bank["key"]["token"]
    assert book.ledger.get(f"/v1/enterprises/{STEEL}/profile", token).status_code == 404
    grant = {"grantee": "bank", "purpose": "green loan"}
    assert book.ledger.post(f"/v1/enterprises/{STEEL}/grants", json=grant).status_code == 201

    profile = book.ledger.get(f"/v1/enterprises/{STEEL}/profile", token).json()
    (lot,) = profile["assets"]
    retired = RETIRED[1] - RETIRED[0] + 1
    assert (lot["held"], lot["retired"]) == (LAST - FIRST + 1 - retired, retired)
    held = [(r["first"], r["last"]) for r in lot["heldRanges"]]
    assert held == [(FIRST, RETIRED[0] - 1), (RETIRED[1] + 1, LAST)]
    retirement = lot["retirements"][0]["proof"]
    assert retirement.endswith(f"/v1/asset-operations/0x{book.head.hex()}/proof")
    assert profile["latestRating"] is None and profile["ratings"] == []

    page = book.ledger.get("/v1/portfolio", token, params={"format": "csv"})
    assert page.headers["content-type"].startswith("text/csv")
    header, row = page.text.splitlines()
    assert header.split(",")[:3] == ["enterprise", "name", "industry"]
    values = dict(zip(header.split(","), row.split(","), strict=True))
    assert (values["enterprise"], values["heldTCO2e"], values["retiredTCO2e"]) == (
        STEEL,
        str(LAST - FIRST + 1 - retired),
        str(retired),
    )
    paged = book.ledger.get("/v1/portfolio", token, params={"limit": 1, "offset": 1}).json()
    assert (paged["total"], paged["items"]) == (1, [])
