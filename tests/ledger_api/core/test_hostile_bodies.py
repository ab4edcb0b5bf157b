"""Bodies built to crash or stall the server: answered with a 4xx, the process lives on."""

from __future__ import annotations

import re

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_api.core.middleware import MAX_JSON_DEPTH, json_depth_exceeds
from tests.conftest import LedgerServer

WRITE_PATHS = ["/v1/activity-batches", "/v1/enterprises", "/v1/templates", "/v1/asset-operations"]
NESTED = b"[" * 200_000  # about 200 KB of nesting: once enough to kill the process


def _alive(ledger: LedgerServer) -> None:
    assert ledger.get("/v1/typed-data").status_code == 200


@pytest.mark.parametrize("path", WRITE_PATHS)
def test_deep_nesting_without_a_key_is_refused_before_the_body_is_read(
    ledger: LedgerServer, path: str
) -> None:
    response = httpx.post(
        ledger.base_url + path,
        content=NESTED,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"
    _alive(ledger)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (NESTED, "malformed_json"),  # never closed
        (b"[" * 5_000 + b"]" * 5_000, "json_too_deep"),
        (
            b'{"records":' + b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1) + b"}",
            "json_too_deep",
        ),
    ],
)
def test_deep_nesting_with_a_well_formed_key_is_refused_before_parsing(
    ledger: LedgerServer, body: bytes, code: str
) -> None:
    fake_key = "cl_" + "0" * 16 + "_" + "A" * 43  # the right shape, known to nobody
    response = httpx.post(
        ledger.base_url + "/v1/activity-batches",
        content=body,
        headers={"content-type": "application/json", "authorization": f"Bearer {fake_key}"},
        timeout=30,
    )
    assert response.status_code == (400 if code == "malformed_json" else 422)
    assert response.json()["error"] == {
        "code": code,
        "message": response.json()["error"]["message"],
        "field": "body",
    }
    _alive(ledger)


def test_a_batch_at_the_depth_real_clients_use_still_passes_the_guard() -> None:
    record = b'{"record":{"enterprise":"88.118.8/E","seq":"1"},"signature":"0x\\"[{"}'
    body = b'{"records":[' + b",".join([record] * 1_000) + b"]}"
    assert json_depth_exceeds(body, MAX_JSON_DEPTH) is False
    # depth of that body: object > records list > item > record object = 4 levels
    assert json_depth_exceeds(body, 4) is False
    assert json_depth_exceeds(body, 3) is True


def test_escaped_quotes_and_backslashes_are_read_as_a_parser_reads_them() -> None:
    assert json_depth_exceeds(rb'["a\\"]', 1) is False  # the string is a backslash
    assert json_depth_exceeds(rb'["a\"]"]', 1) is False  # an escaped quote inside
    assert json_depth_exceeds(rb'["[[[[", {"k": "}}}"}]', 2) is False
    assert json_depth_exceeds(rb'["a', 2) is None


def _reference_depth_exceeds(body: bytes, limit: int) -> bool | None:
    """The guard's reading as first written: every string removed by one regex."""
    flat = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = re.sub(rb'"[^"]*"', b"", bytes(b for b in flat if b in b'"[]{}'))
    if b'"' in brackets:
        return None
    for _ in range(limit):
        if not brackets:
            return False
        shorter = re.sub(rb"\[\]|\{\}", b"", brackets)
        if len(shorter) == len(brackets):
            return None
        brackets = shorter
    return bool(brackets)


@settings(max_examples=2_000, deadline=None)
@given(
    body=st.lists(st.sampled_from([b'"', b"\\", b"[", b"]", b"{", b"}", b"a", b":"])),
    limit=st.integers(1, 6),
)
def test_the_guard_reads_any_body_as_the_plain_algorithm_does(
    body: list[bytes], limit: int
) -> None:
    # Dropping adjacent quotes before the strings (the cheap pass) changes no answer: bodies
    # of quotes, backslashes, brackets and other bytes in any order, balanced or not.
    joined = b"".join(body)
    assert json_depth_exceeds(joined, limit) == _reference_depth_exceeds(joined, limit)
