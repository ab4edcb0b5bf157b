"""Issue 15, item 4: asset operations are no oracle. A hostile tenant signs operations with its
own registered key, as owner of its own enterprise, against another tenant's lot and
enterprise; every answer must be byte for byte the answer for a lot or enterprise that does not
exist, and no answer may carry the other tenant's identifiers, head digest, serial prefix or
range. Real server, real signatures, real HTTP."""

from __future__ import annotations

from dataclasses import replace

import httpx

from tests.ledger_api.assets.book import (
    CEMENT,
    FIRST,
    LAST,
    LOT,
    RETIRED,
    STEEL,
    TENANT,
    TRANSFERRED,
    Book,
    tenant,
)
from verifier.protocol.asset_ops import ACTIONS, AssetOperation

ABSENT_LOT = "88.118.8/CL-AST-CEA2025-9999"
ABSENT_ENTERPRISE = "88.118.8/ENT-ASSET-NOBODY"
VICTIM_PREFIX = "CN-CEA-2025-"


def _victim_lot(book: Book) -> None:
    """Steel's lot: issued, 300 sent to the cement works (pending), 100 retired."""
    assert book.post(book.op("issue", FIRST, LAST, reference="CN-ETS 2025-0001")).status_code == 201
    assert book.post(book.op("transfer", *TRANSFERRED, recipient=CEMENT)).status_code == 201
    assert book.post(book.op("retire", *RETIRED)).status_code == 201


def _secrets(book: Book) -> list[str]:
    """What the tenant must not learn from any answer."""
    head = book.head.hex()
    numbers = [str(n) for n in (FIRST, LAST, *TRANSFERRED, *RETIRED)]
    return [LOT, STEEL, CEMENT, head, VICTIM_PREFIX, *numbers]


def _probe(book: Book, action: str, **changes: object) -> AssetOperation:
    """The tenant's own signed operation of ``action`` aimed inside steel's serials; it knows
    the lot's identifier and even its current head digest, guessed or overheard."""
    recipient = CEMENT if action == "transfer" else ""
    base = book.op(action, TRANSFERRED[0], TRANSFERRED[1], owner=TENANT, recipient=recipient)
    return replace(base, **changes)  # type: ignore[arg-type]


def _answer(response: httpx.Response) -> tuple[int, str, bytes]:
    return response.status_code, response.headers["content-type"], response.content


def _leaks(response: httpx.Response, secrets: list[str]) -> list[str]:
    text = response.text
    return [s for s in secrets if s in text]


def test_every_operation_on_another_tenants_lot_is_answered_as_on_no_lot(book: Book) -> None:
    _victim_lot(book)
    token = tenant(book)
    secrets = _secrets(book)
    head = book.head
    assert set(ACTIONS) == {
        "issue",
        "transfer",
        "accept",
        "reject",
        "reclaim",
        "retire",
        "surrender",
    }
    for action in ACTIONS:
        prev = bytes(32) if action == "issue" else head
        # Signed with the tenant's own key: the only one it has (an issue needs the issuer's).
        on_victim = book.post(_probe(book, action, prev=prev), TENANT, token)
        on_nothing = book.post(_probe(book, action, prev=prev, asset=ABSENT_LOT), TENANT, token)
        assert _answer(on_victim) == _answer(on_nothing), (action, on_victim.text)
        assert on_victim.status_code in (403, 422), (action, on_victim.text)
        assert _leaks(on_victim, secrets) == [], (action, on_victim.text)
        expected = (
            ("signer_not_issuer", "signature")
            if action == "issue"
            else ("unknown_asset", "operation.asset")
        )
        error = on_victim.json()["error"]
        assert (error["code"], error["field"]) == expected, action
    # Steel's lot is as it was: nothing the tenant sent was written.
    assert book.ledger.get(f"/v1/assets/{LOT}").json()["head"] == "0x" + head.hex()


def test_every_operation_for_another_tenants_enterprise_is_answered_as_for_none(
    book: Book,
) -> None:
    _victim_lot(book)
    token = tenant(book)
    secrets = [*_secrets(book), TENANT]
    for action in ACTIONS:
        for owner in (STEEL, CEMENT):
            # Signed with the tenant's key, or with nothing it may know of the victim's.
            theirs = book.post(_probe(book, action, owner=owner), signer=TENANT, token=token)
            nobody = book.post(
                _probe(book, action, owner=ABSENT_ENTERPRISE), signer=TENANT, token=token
            )
            assert _answer(theirs) == _answer(nobody), (action, theirs.text)
            error = theirs.json()["error"]
            assert (theirs.status_code, error["code"], error["field"]) == (
                404,
                "enterprise_not_found",
                "operation.owner",
            )
            assert _leaks(theirs, secrets) == [], (action, theirs.text)


def test_an_overlap_names_neither_the_lot_nor_its_range(book: Book) -> None:
    """Even an issuer-signed issue for the tenant learns only that the range is unavailable."""
    _victim_lot(book)
    token = tenant(book)
    secrets = _secrets(book)
    twin = book.op("issue", LAST - 5, LAST + 5, owner=TENANT, asset=LOT + "-T", prev=bytes(32))
    refused = book.post(twin, token=token)
    assert refused.json()["error"] == {
        "code": "serial_overlap",
        "message": "serial range unavailable",
        "field": "operation.first",
    }
    assert refused.status_code == 409
    assert _leaks(refused, [s for s in secrets if s != VICTIM_PREFIX]) == []


def test_a_transfer_is_answered_alike_for_any_recipient(book: Book) -> None:
    """Naming an existing or an absent enterprise as recipient stores the transfer either way:
    the units wait for a signed accept, so the answer says nothing about the recipient."""
    token = tenant(book)
    own = book.op("issue", FIRST, LAST, owner=TENANT, asset=LOT + "-T")
    assert book.post(own, token=token).status_code == 201
    answers = []
    for n, recipient in enumerate((STEEL, ABSENT_ENTERPRISE)):
        sent = book.op(
            "transfer",
            FIRST + 10 * n,
            FIRST + 10 * n + 9,
            owner=TENANT,
            recipient=recipient,
            asset=LOT + "-T",
        )
        response = book.post(sent, token=token)
        body = response.json()
        answers.append((response.status_code, body["status"], body["quantity"], sorted(body)))
    assert answers[0] == answers[1] == (201, "stored", 10, answers[0][3])
    # Neither counts the units as held: steel holds nothing, as it accepted nothing.
    (lot,) = book.ledger.get(f"/v1/enterprises/{STEEL}/assets").json()
    assert (lot["held"], lot["pending"]) == (0, 10)
