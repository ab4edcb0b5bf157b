"""Issue 15, item 5: nobody can inflate another enterprise's holdings. A tenant used to
self-issue 10^15 tCO2e and transfer it to a bank's borrower, whose held total in the bank's
portfolio jumped by as much. Now an issue needs the programme's registered issuer key, and
units sent to an enterprise are pending, apart from its held total, until it signs an accept.
Real server, real signatures, real HTTP."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from terminal.client import Terminal
from tests.ledger_api.assets.book import (
    CEMENT,
    FIRST,
    ISSUER,
    LAST,
    LOT,
    STEEL,
    TENANT,
    Book,
    tenant,
)

HUGE = 10**15
OWN_LOT = LOT + "-T"
OWN = {"asset": OWN_LOT, "serial_prefix": "CN-CEA-2025-T-"}  # the tenant's lot's terms


def _error(response: object) -> tuple[int, str, str]:
    error = response.json()["error"]  # type: ignore[attr-defined]
    return response.status_code, error["code"], error["field"]  # type: ignore[attr-defined]


def _bank(book: Book) -> str:
    """A financier that steel consented to."""
    bank = book.ledger.post("/v1/principals", json={"name": "bank", "role": "financier"}).json()
    grant = {"grantee": "bank", "purpose": "green loan"}
    assert book.ledger.post(f"/v1/enterprises/{STEEL}/grants", json=grant).status_code == 201
    token: str = bank["key"]["token"]
    return token


def _steel_in_portfolio(book: Book, token: str) -> int:
    (item,) = book.ledger.get("/v1/portfolio", token).json()["items"]
    assert item["enterprise"] == STEEL
    held: int = item["heldTCO2e"]
    return held


def test_a_tenant_cannot_mint_units(book: Book) -> None:
    token = tenant(book)
    minted = book.op("issue", 1, HUGE, owner=TENANT, asset=OWN_LOT)
    # Signed with its own registered asset key, as the old rules accepted.
    assert _error(book.post(minted, TENANT, token)) == (403, "signer_not_issuer", "signature")
    # A programme nobody registered an issuer for cannot be issued at all.
    other = book.op("issue", 1, HUGE, owner=TENANT, asset=OWN_LOT, program="XCER")
    assert _error(book.post(other, TENANT, token)) == (422, "no_issuer_key", "signature")
    assert book.ledger.get(f"/v1/assets/{OWN_LOT}", token).status_code == 404
    # Only an admin or a regulator names an issuer key.
    address = {"address": book.keys[TENANT].address}
    named = book.ledger.client(token).put("/v1/programs/CEA/issuer", json=address)
    assert (named.status_code, named.json()["error"]["code"]) == (403, "forbidden")


def test_units_sent_count_as_held_only_once_accepted(book: Book) -> None:
    token = tenant(book)
    bank = _bank(book)
    issued = LAST - FIRST + 1
    assert book.post(book.op("issue", FIRST, LAST)).status_code == 201  # steel's own lot
    assert _steel_in_portfolio(book, bank) == issued
    # The issuer really issued the tenant a huge lot; the tenant pushes all of it onto steel.
    own = book.op("issue", 1, HUGE, owner=TENANT, prev=bytes(32), **OWN)
    assert book.post(own).status_code == 201
    push = book.op("transfer", 1, HUGE, owner=TENANT, recipient=STEEL, **OWN)
    assert book.post(push, token=token).status_code == 201
    assert _steel_in_portfolio(book, bank) == issued  # not a tonne more
    profile = book.ledger.get(f"/v1/enterprises/{STEEL}/profile", bank).json()
    pushed = next(a for a in profile["assets"] if a["asset"] == OWN_LOT)
    assert (pushed["held"], pushed["pending"]) == (0, HUGE)
    assert pushed["pendingRanges"] == [{"first": 1, "last": HUGE, "sender": TENANT}]
    # The tenant cannot accept for steel: not as owner, nor by signing steel's accept.
    accept = book.op("accept", 1, HUGE, owner=STEEL, **OWN)
    assert _error(book.post(accept, TENANT, token)) == (
        404,
        "enterprise_not_found",
        "operation.owner",
    )
    assert _error(book.post(accept, TENANT)) == (403, "signer_not_owner", "signature")
    # Steel rejects: everything returns to the tenant, and steel's total never moved.
    assert book.post(book.op("reject", 1, HUGE, owner=STEEL, **OWN)).status_code == 201
    assert _steel_in_portfolio(book, bank) == issued
    (mine,) = book.ledger.get(f"/v1/enterprises/{TENANT}/assets", token).json()
    assert (mine["held"], mine["pending"]) == (HUGE, 0)


def test_accept_and_reclaim(book: Book) -> None:
    """What steel accepts is its holding; what it has not accepted the sender may take back."""
    assert book.post(book.op("issue", FIRST, LAST)).status_code == 201
    assert book.post(book.op("transfer", FIRST, FIRST + 99, recipient=CEMENT)).status_code == 201
    assert book.post(book.op("accept", FIRST, FIRST + 49, owner=CEMENT)).status_code == 201
    reclaimed = book.post(book.op("reclaim", FIRST + 50, FIRST + 99))
    assert reclaimed.status_code == 201, reclaimed.text
    (cement,) = book.ledger.get(f"/v1/enterprises/{CEMENT}/assets").json()
    (steel,) = book.ledger.get(f"/v1/enterprises/{STEEL}/assets").json()
    assert (cement["held"], cement["pending"]) == (50, 0)
    assert (steel["held"], steel["pending"]) == (LAST - FIRST + 1 - 50, 0)
    # Reclaiming twice: the serials are no longer pending.
    again = book.post(book.op("reclaim", FIRST + 50, FIRST + 99))
    assert _error(again) == (409, "not_pending", "operation.first")
    # Nor can cement pass on what it was offered but did not accept.
    assert (
        book.post(book.op("transfer", FIRST + 60, FIRST + 60, recipient=CEMENT)).status_code == 201
    )
    onward = book.op("transfer", FIRST + 60, FIRST + 60, owner=CEMENT, recipient=STEEL)
    assert _error(book.post(onward)) == (409, "transfer_pending", "operation.first")


def test_a_rotated_issuer_key_no_longer_issues(book: Book) -> None:
    regulator = book.ledger.post(
        "/v1/principals", json={"name": "mee", "role": "regulator"}
    ).json()["key"]["token"]
    old = book.keys[ISSUER]
    book.keys[ISSUER] = Terminal.create()
    with book.ledger.client(regulator) as http:
        named = http.put("/v1/programs/CEA/issuer", json={"address": book.keys[ISSUER].address})
    assert named.status_code == 201 and named.json()["signer"] == book.keys[ISSUER].address
    book.keys["old issuer"] = old
    stale = book.op("issue", FIRST, LAST)
    assert _error(book.post(stale, "old issuer")) == (403, "signer_not_issuer", "signature")
    assert book.post(stale).status_code == 201


def test_a_lot_of_rules_1_is_read_but_never_written_again(book: Book) -> None:
    """A lot stored before this change (its row says rules 1, as the migration marks them) is
    still read under its own rules — a transfer there was delivered at once — but takes no new
    operation, so it cannot be used to push units onto anyone any more."""
    assert book.post(book.op("issue", FIRST, LAST)).status_code == 201
    assert book.post(book.op("transfer", FIRST, FIRST + 9, recipient=CEMENT)).status_code == 201
    engine = create_engine(book.ledger.settings().effective_database_url)
    with engine.begin() as db:
        db.execute(text("UPDATE asset_lot SET rules = 1"))
    engine.dispose()
    lot = book.ledger.get(f"/v1/assets/{LOT}").json()
    assert lot["ranges"][0] == {
        "first": FIRST,
        "last": FIRST + 9,
        "status": "held",
        "holder": CEMENT,
        "origin": None,
    }
    refused = book.post(book.op("transfer", FIRST + 10, FIRST + 19, recipient=CEMENT))
    assert _error(refused) == (409, "lot_rules_retired", "operation.asset")
    assert book.ledger.get(f"/v1/assets/{LOT}").json() == lot
