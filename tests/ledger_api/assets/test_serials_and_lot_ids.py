"""Hostile serial prefixes, lot identifiers and serials over real HTTP (issue 15, item 9).

A serial prefix is a signed field, so the ledger refuses one that is not already canonical
rather than rewriting it; a lot identifier is held to the enterprise identifiers' rules; a
serial beyond what the database holds is refused at the edge, never a 500.
"""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest
import rfc8785

from ledger_api.assets.service import message_json
from tests.ledger_api.assets.book import FIRST, LAST, LOT, Book
from verifier.errors import InvalidAssetOperation
from verifier.protocol.asset_ops import ZERO_PREV, AssetOperation
from verifier.protocol.lot_rules import SerialPrefixNotCanonical, replay

PREFIX = "CN-CEA-2025-"


def _refusal(response: httpx.Response) -> tuple[int, str | None, str | None]:
    try:
        error = response.json().get("error") or {}
    except ValueError:  # a 500 with a plain-text body
        error = {}
    return response.status_code, error.get("code"), error.get("field")


@pytest.mark.parametrize(
    "prefix",
    [
        "cn-cea-2025-",  # lower case: the same registry block to a person
        "Cn-CEA-2025-",
        " CN-CEA-2025-",
        "CN-CEA-2025- ",
        "CN-CEA-2025-\t",
        "CN-CEA-2025-\n",
        "CN-CEA 2025-",
        "CN-CEA-2025-\u200b",  # zero-width space
        "CN-CEA-2025-\x00",
        "CN-CEA-2025-\x7f",
        "CN-СEA-2025-",  # Cyrillic Es
    ],
)
def test_a_look_alike_serial_prefix_is_refused_not_an_overlap_bypass(
    book: Book,
    prefix: str,
) -> None:
    assert book.post(book.op("issue", FIRST, LAST, serial_prefix=PREFIX)).status_code == 201
    twin = book.op("issue", FIRST, LAST, asset=LOT + "-B", prev=ZERO_PREV)
    message = {**twin.to_message(), "serialPrefix": prefix}
    try:  # signed as the steel works would, where the protocol can even spell the prefix
        signature = book.keys[twin.owner].sign_asset_operation(
            book.domain, AssetOperation.from_message(message)
        )
    except InvalidAssetOperation:
        signature = "0x" + "11" * 65
    refused = book.ledger.post(
        "/v1/asset-operations", json={"operation": message, "signature": signature}
    )
    # U+0000 is refused before any route reads the body (the JSON guard), at the same field.
    code = "nul_character" if "\0" in prefix else "non_canonical_serial_prefix"
    assert _refusal(refused) == (422, code, "operation.serialPrefix")
    assert book.ledger.get(f"/v1/assets/{LOT}-B").status_code == 404


def test_a_canonical_prefix_still_overlaps(book: Book) -> None:
    assert book.post(book.op("issue", FIRST, LAST)).status_code == 201
    twin = book.op("issue", LAST, LAST + 5, asset=LOT + "-B", prev=ZERO_PREV)
    assert _refusal(book.post(twin)) == (409, "serial_overlap", "operation.first")


@pytest.mark.parametrize(
    ("asset", "code"),
    [
        ("88.118.8/cl-ast-cea2025-0002", "non_canonical_identifier"),
        ("88.118.8/CL-АST-CEA2025-0002", "confusable_character"),  # Cyrillic A
        ("88.118.8/CL-AST-CEA2025-0002\u200b", "control_character"),
        ("88.118.8/CL-AST-CEA2025\u202e-0002", "control_character"),  # bidi override
        ("88.118.8/CL-AST-CEA2025-0002\x07", "control_character"),
        ("88.118.8/CL-AST-CEA2025-0002\n", "whitespace"),
        (" 88.118.8/CL-AST-CEA2025-0002", "whitespace"),
        ("88.118.8/CL-AST/../CEA2025-0002", "malformed_identifier"),
        ("../../etc/passwd", "malformed_identifier"),
        ("88.118.8/../CL-AST-CEA2025-0002", "malformed_identifier"),
        ("99.1/CL-AST-CEA2025-0002", "foreign_prefix"),
    ],
)
def test_a_hostile_lot_identifier_is_refused(book: Book, asset: str, code: str) -> None:
    refused = book.post(book.op("issue", FIRST, LAST, asset=asset))
    assert _refusal(refused) == (422, code, "operation.asset")


@pytest.mark.parametrize("last", [2**53 + 1, 2**63 - 1])
def test_serials_up_to_the_documented_limit_are_stored(book: Book, last: int) -> None:
    issued = book.post(book.op("issue", last - 999, last, timestamp=2**64 - 1))
    assert issued.status_code == 201, issued.text
    assert issued.json()["state"]["last"] == last
    moved = book.post(book.op("transfer", last - 9, last, recipient=book_cement(book)))
    assert moved.status_code == 201, moved.text
    accepted = book.post(book.op("accept", last - 9, last, owner=book_cement(book)))
    assert accepted.status_code == 201, accepted.text
    lot = book.ledger.get(f"/v1/assets/{LOT}").json()
    assert [(r["first"], r["last"]) for r in lot["ranges"]] == [
        (last - 999, last - 10),
        (last - 9, last),
    ]
    assert book.balances(book_cement(book))["held"] == 10


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        (FIRST, 2**63, "operation.last"),
        (FIRST, 2**64 - 1, "operation.last"),
        (2**63, 2**63, "operation.first"),
        (2**64 - 1, 2**64 - 1, "operation.first"),
    ],
)
def test_serials_beyond_the_limit_are_refused_at_the_edge(
    book: Book,
    first: int,
    last: int,
    field: str,
) -> None:
    refused = book.post(book.op("issue", first, last))
    assert _refusal(refused) == (422, "serial_too_large", field)
    assert book.ledger.get(f"/v1/assets/{LOT}").status_code == 404


def test_serials_beyond_uint64_are_invalid(book: Book) -> None:
    body = {"operation": {**book.op("issue", FIRST, LAST).to_message(), "last": 2**64}}
    refused = book.ledger.post("/v1/asset-operations", json={**body, "signature": "0x" + "00" * 65})
    assert _refusal(refused) == (422, "invalid_operation", "operation")


def book_cement(book: Book) -> str:
    return next(e for e in book.keys if e.endswith("CEMENT"))


@pytest.mark.parametrize("prefix", ["cn-cea-2025-", " CN-CEA-2025-", "CN-CEA-2025- ", "CN CEA"])
def test_the_verifier_replays_the_same_refusal(prefix: str) -> None:
    offline = Book(None, None, {})  # type: ignore[arg-type]
    digest = bytes(range(32))
    with pytest.raises(SerialPrefixNotCanonical) as caught:
        replay([(offline.op("issue", FIRST, LAST, serial_prefix=prefix), digest)])
    error = caught.value
    assert (error.code, error.field) == ("non_canonical_serial_prefix", "serialPrefix")
    state = replay([(offline.op("issue", FIRST, LAST, serial_prefix=PREFIX), digest)])
    assert state.serial_prefix == PREFIX


@pytest.mark.parametrize("reference", ["", '碳配额 \u00e9\U0001f600 "quoted" \\ \x01 \x7f'])
def test_the_stored_message_is_rfc8785_while_its_integers_are_safe(reference: str) -> None:
    """What ``AssetOperationRow.message`` says of itself: RFC 8785 up to 2^53 - 1, the same
    spelling beyond, which RFC 8785 cannot write, and read back exactly."""
    offline = Book(None, None, {})  # type: ignore[arg-type]
    safe = offline.op("issue", FIRST, 2**53 - 1, reference=reference, timestamp=2**53 - 1)
    assert message_json(safe).encode() == rfc8785.dumps(safe.to_message())
    beyond = replace(safe, last=2**63 - 1, timestamp=2**64 - 1)
    with pytest.raises(rfc8785.IntegerDomainError):
        rfc8785.dumps(beyond.to_message())
    assert AssetOperation.from_message(json.loads(message_json(beyond))) == beyond
