"""Input that only one database chokes on is refused the same way on both. PostgreSQL holds
row ids and periods in four-byte integers and cannot store U+0000 in text; SQLite takes all
three, so only the suite on PostgreSQL found them (500s from the API fuzz test). Each test runs
on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from devtools.seeding import register
from ledger_api.core.middleware import nul_text_at
from ledger_api.core.schemas import MAX_ROW_ID
from terminal.client import Terminal
from tests.conftest import LedgerServer
from tests.ledgers import own_ledger
from tests.postgres import fresh_database_url

ENTERPRISE = "88.118.8/ENT-BOUNDS"
SOURCE = "88.118.8/ENT-BOUNDS/SRC-GRID"
#: Every path that takes a stored row's id, with the id's place marked.
ID_PATHS = [
    ("get", "/v1/batches/{}"),
    ("get", "/v1/batches/{}/tree"),
    ("get", "/v1/batches/by-chain-id/{}"),
    ("get", "/v1/alerts/{}"),
    ("post", "/v1/alerts/{}/acknowledge"),
    ("get", "/v1/monitor-rules/{}"),
    ("delete", "/v1/monitor-rules/{}"),
    ("delete", "/v1/webhook-subscriptions/{}"),
    ("post", "/v1/webhook-deliveries/{}/replay"),
    ("post", f"/v1/enterprises/{ENTERPRISE}/grants/{{}}/revoke"),
]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def ledger_on(request: pytest.FixtureRequest) -> Iterator[LedgerServer]:
    """One ledger per database for the module, with one registered enterprise."""
    env = {"CARBON_DATABASE_URL": fresh_database_url()} if request.param == "postgres" else {}
    dev_chain, w3, operator = (
        request.getfixturevalue(name) for name in ("dev_chain", "w3", "operator_account")
    )
    folder = request.getfixturevalue("tmp_path_factory").mktemp(f"bounds-{request.param}")
    with own_ledger(dev_chain, w3, operator, folder, **env) as ledger:
        register(ledger.server, ENTERPRISE, [SOURCE], Terminal.create())
        yield ledger


def _call(ledger: LedgerServer, method: str, path: str, **kwargs: object) -> object:
    with ledger.client() as http:
        return http.request(method, path, **kwargs)


@pytest.mark.parametrize(("method", "path"), ID_PATHS)
def test_an_id_no_column_can_hold_is_refused_and_the_largest_is_not_found(
    ledger_on: LedgerServer, method: str, path: str
) -> None:
    too_large = _call(ledger_on, method, path.format(MAX_ROW_ID + 1))
    assert too_large.status_code == 422, too_large.text
    error = too_large.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["problems"][0]["code"] == "less_than_equal"
    largest = _call(ledger_on, method, path.format(MAX_ROW_ID))
    assert largest.status_code == 404, largest.text


def test_a_webhook_delivery_filter_beyond_a_row_id_is_refused(ledger_on: LedgerServer) -> None:
    answer = ledger_on.get("/v1/webhook-deliveries", params={"subscription": MAX_ROW_ID + 1})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "subscription"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"identifier": "88.118.8/ENT-NUL", "industry": "iron_steel", "name": "a\0b"}, "name"),
        (
            {"identifier": "88.118.8/ENT-NUL", "industry": "iron_steel", "name": "n", "x\0": 1},
            "x\\u0000",
        ),
    ],
)
def test_text_holding_nul_is_refused_with_its_field(
    ledger_on: LedgerServer, body: dict[str, object], field: str
) -> None:
    answer = ledger_on.post("/v1/enterprises", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == {
        "code": "nul_character",
        "message": "text may not hold U+0000",
        "field": field,
    }
    assert ledger_on.get("/v1/enterprises/88.118.8/ENT-NUL").status_code == 404


def test_an_escaped_backslash_before_u0000_is_text_not_nul(ledger_on: LedgerServer) -> None:
    # The JSON "a\\u0000b" is the eight characters a, \, u, 0, 0, 0, 0, b: no NUL in it.
    name = "a\\u0000b"
    body = {"identifier": "88.118.8/ENT-BACKSLASH", "industry": "iron_steel", "name": name}
    answer = ledger_on.post("/v1/enterprises", json=body)
    assert answer.status_code == 201, answer.text
    assert ledger_on.get("/v1/enterprises/88.118.8/ENT-BACKSLASH").json()["name"] == name


@pytest.mark.parametrize(
    ("start", "end", "code", "field"),
    [
        ("3263-03-15", "3263-03-15", "period_in_future", "periodEnd"),
        ("2025-06-01", "9999-12-30", "period_in_future", "periodEnd"),
        ("0001-01-01", "2025-06-01", "period_out_of_range", "periodStart"),
        ("1999-12-30", "2025-06-01", "period_out_of_range", "periodStart"),
    ],
)
def test_a_period_no_record_can_lie_in_is_refused(
    ledger_on: LedgerServer, start: str, end: str, code: str, field: str
) -> None:
    body = {"enterprise": ENTERPRISE, "periodStart": start, "periodEnd": end, "addedValue": "3"}
    answer = ledger_on.post("/v1/evaluations", json=body)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == (code, field)


def test_a_period_from_2000_that_has_ended_reaches_the_records(ledger_on: LedgerServer) -> None:
    # Inside the bounds, the ledger looks for records (there are none) rather than refusing.
    body = {"enterprise": ENTERPRISE, "periodStart": "2000-01-01", "periodEnd": "2000-01-31"}
    answer = ledger_on.post("/v1/evaluations", json=body | {"addedValue": "3"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "no_data"


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"a": [1, {"b": "x\0"}]}, "a.1.b"),
        (["\0"], "0"),
        ("\0", "body"),
        ({"a": "\\u0000"}, None),
        ({"a": "x"}, None),
    ],
)
def test_nul_is_found_where_it_is(document: object, where: str | None) -> None:
    assert nul_text_at(json.dumps(document).encode()) == where
