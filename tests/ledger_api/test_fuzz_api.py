"""Property-based fuzzing of the whole OpenAPI over real HTTP: no input gets a 5xx.

Every operation of the served ``/openapi.json`` gets schema-conforming and schema-violating
requests, some of them naming seeded objects (a registered enterprise, stored records, an
anchored evaluation), and conforming ones with JSON nested past the depth guard and integers
past every stored range; every answer must be below 500 and every 4xx must carry the error shape.
A catalogue of known-nasty inputs follows, each of which must get a 4xx with a code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from devtools.seeding import register, resign
from ledger_api.commands.serve import build_worker
from ledger_api.registry.template_store import template_catalog as templates
from terminal.client import SignedRecord, Terminal
from tests.conftest import LedgerServer
from verifier.protocol.typed_data import ActivityRecord, Domain

ENTERPRISE = "88.118.8/ENT-FUZZ-01"
SOURCE = "88.118.8/SRC-FUZZ-01-GRID"
JUNE_2025_CST = 1_748_707_200  # 2025-06-01T00:00:00+08:00: a day the shipped ruleset grades
HOUR = 3_600
MAX_EXAMPLES = 50  # schema-conforming cases per operation; half as many violating ones
REQUEST_TIMEOUT_S = 30

# Resolution answers in the Handle.net shape (responseCode), not the API's error shape.
HANDLE_SHAPED = {("GET", "/api/handles/{identifier}")}


@dataclass(frozen=True)
class Known:
    """Seeded objects: real values by path parameter name and by body or query field name."""

    path: dict[str, list[Any]]
    fields: dict[str, list[Any]]


def hourly(terminal: Terminal, domain: Domain, hours: range) -> list[SignedRecord]:
    return [
        terminal.sign(
            domain,
            ActivityRecord(
                enterprise=ENTERPRISE,
                source=SOURCE,
                device=terminal.address,
                seq=h + 1,
                activity="electricity.purchased",
                quantity=10_000,
                decimals=3,
                unit="MWh",
                period_start=JUNE_2025_CST + h * HOUR,
                period_end=JUNE_2025_CST + (h + 1) * HOUR,
            ),
        )
        for h in hours
    ]


def seed(ledger: LedgerServer) -> tuple[Known, Terminal]:
    """An enterprise, source and terminal; a day of anchored records; an anchored evaluation."""
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [SOURCE], terminal, industry="aluminium")
    client = ledger.ledger_client()
    records = hourly(terminal, client.domain(), range(25))  # the 25th closes the day
    stored = client.submit(records)["records"]
    worker = build_worker(ledger.settings())
    worker.run_once()
    evaluation = ledger.post(
        "/v1/evaluations",
        json={
            "enterprise": ENTERPRISE,
            "periodStart": "2025-06-01",
            "periodEnd": "2025-06-01",
            "addedValue": "20",
            "ruleset": "zj-huzhou-2021",
        },
    )
    assert evaluation.status_code == 201, evaluation.text
    worker.run_once()
    path = {
        "identifier": [ENTERPRISE, SOURCE, evaluation.json()["identifier"]],
        "digest": [r["digest"] for r in stored[:3]],
        "address": [terminal.address],
        "batch_id": [1, 2],
        "template_id": [templates().for_industry("aluminium").id],
    }
    fields = {
        "industry": ["aluminium", "iron_steel"],
        "enterprise": [ENTERPRISE],
        "sources": [[SOURCE]],
        "record": [r.to_json()["record"] for r in records[:3]],
        "signature": [r.to_json()["signature"] for r in records[:3]],
        "ruleset": ["zj-huzhou-2021"],
        "figure": ["total", "rating.grade", "rating.K", f"bySource.{SOURCE}", "byGas.CO2"],
    }
    return Known(path, fields), terminal


def error_shape(ctx: Any, response: Any, case: Any) -> None:
    """Every 4xx is ``{"error": {"code": str, ...}}``."""
    if not 400 <= response.status_code < 500:
        return
    if (case.operation.method.upper(), case.operation.path) in HANDLE_SHAPED:
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} body is not JSON") from None
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict) and isinstance(error.get("code"), str), (
        f"{response.status_code} body lacks the error shape: {response.content[:300]!r}"
    )


def biased(strategy: st.SearchStrategy, known: dict[str, list[Any]]) -> st.SearchStrategy:
    """Cases whose body or query fields named like a seeded object sometimes carry a real one,
    so the fuzz gets past "unknown enterprise" to the checks behind it."""

    def swap(value: Any, draw: Callable[[st.SearchStrategy], Any]) -> Any:
        if isinstance(value, list):
            return [swap(v, draw) for v in value]
        if not isinstance(value, dict):
            return value
        return {
            k: draw(st.sampled_from(known[k]))
            if k in known and draw(st.booleans())
            else swap(v, draw)
            for k, v in value.items()
        }

    @st.composite
    def build(draw: Callable[[st.SearchStrategy], Any]) -> Any:
        case = draw(strategy)
        if isinstance(case.body, dict):
            case.body = swap(case.body, draw)
        if case.query:
            case.query = swap(case.query, draw)
        return case

    return build()


# Values an attacker puts where a schema expects something small: JSON nested past the
# guard's depth (the client's encoder stops near 1,000 levels, the guard at 64), and integers
# past every range the ledger stores or anchors (2**53 for JSON readers, 2**63, 2**256).
DEEP = st.integers(min_value=65, max_value=900).map(
    lambda depth: json.loads("[" * depth + "]" * depth)
)
HUGE = st.sampled_from([2**53, 2**63 - 1, 2**63, 2**64, 2**256, -(2**63) - 1]) | st.integers(
    min_value=2**53
)
HOSTILE = DEEP | HUGE


def hostile(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Schema-conforming cases with some body, query and path values replaced by :data:`HOSTILE`
    ones, so every field meets nesting and integers it did not expect."""

    def poison(value: Any, draw: Callable[[st.SearchStrategy], Any]) -> Any:
        if isinstance(value, dict):
            return {k: poison(v, draw) for k, v in value.items()}
        if isinstance(value, list):
            return [poison(v, draw) for v in value]
        return draw(HOSTILE) if draw(st.integers(0, 2)) == 0 else value

    @st.composite
    def build(draw: Callable[[st.SearchStrategy], Any]) -> Any:
        case = draw(strategy)
        if isinstance(case.body, dict | list):
            case.body = poison(case.body, draw)
        if case.query:
            case.query = {
                k: str(draw(HUGE)) if draw(st.booleans()) else v for k, v in case.query.items()
            }
        if case.path_parameters:
            case.path_parameters = {
                k: str(draw(HUGE)) if draw(st.booleans()) else v
                for k, v in case.path_parameters.items()
            }
        return case

    return build()


def strategies(operation: Any, known: Known) -> list[tuple[st.SearchStrategy, int]]:
    """(strategy, examples): schema-conforming and -violating cases, conforming ones with hostile
    nesting and integers, and conforming ones whose path parameters all name seeded objects."""
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    found = [
        (biased(positive, known.fields), MAX_EXAMPLES),
        (operation.as_strategy(GenerationMode.NEGATIVE), MAX_EXAMPLES // 2),
        (hostile(biased(positive, known.fields)), MAX_EXAMPLES // 5),
    ]
    names = [p.name for p in operation.path_parameters]
    if names and all(name in known.path for name in names):
        for value in {v for n in names for v in known.path[n]}:
            fixed = operation.as_strategy(path_parameters=dict.fromkeys(names, value))
            found.append((biased(fixed, known.fields), 5))
    return found


def fuzz(strategy: st.SearchStrategy, examples: int, ledger: LedgerServer) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=ledger.base_url,
            headers={"Authorization": f"Bearer {ledger.token}"},
            checks=[not_a_server_error, error_shape],
            timeout=REQUEST_TIMEOUT_S,
        )

    run()


def test_no_input_gets_a_server_error(ledger: LedgerServer) -> None:
    known, _ = seed(ledger)
    schema = schemathesis.openapi.from_url(ledger.base_url + "/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for strategy, examples in strategies(operation, known):
            try:
                fuzz(strategy, examples, ledger)
            except Unsatisfiable:
                pass  # nothing in this operation can be made to violate the schema
            except (Exception, BaseExceptionGroup) as exc:  # report every operation's failures
                failures.append(f"{operation.label}: {exc}")
    assert operations > 20
    assert not failures, "\n\n".join(failures)


# --- a catalogue of bad inputs, each answered with a 4xx and a machine-readable code ---------


def post_batch(ledger: LedgerServer, body: bytes, content_type: str) -> httpx.Response:
    return ledger.post(
        "/v1/activity-batches",
        content=body,
        headers={"content-type": content_type},
        timeout=REQUEST_TIMEOUT_S,
    )


def batch_json(records: list[dict[str, Any]]) -> bytes:
    # allow_nan: Python writes NaN/Infinity literals, which the server's JSON parser accepts.
    return json.dumps({"records": records}, allow_nan=True).encode()


def first_problem(response: httpx.Response) -> tuple[int, str, str, str | None]:
    error = response.json()["error"]
    problem = error["problems"][0]
    return response.status_code, error["code"], problem["code"], problem.get("field")


@pytest.fixture
def signed(ledger: LedgerServer) -> tuple[Terminal, Domain, SignedRecord]:
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [SOURCE], terminal, industry="aluminium")
    domain = ledger.ledger_client().domain()
    return terminal, domain, hourly(terminal, domain, range(1))[0]


def test_bad_record_fields(
    ledger: LedgerServer, signed: tuple[Terminal, Domain, SignedRecord]
) -> None:
    _, _, record = signed
    good = record.to_json()
    cases: list[tuple[str, Any]] = [
        ("quantity", float("nan")),
        ("quantity", float("inf")),
        ("periodEnd", float("-inf")),
        ("quantity", -5),
        ("quantity", 10**80),
        ("quantity", "lots"),
        ("seq", "12.5"),
    ]
    for field, value in cases:
        body = batch_json([{**good, "record": {**good["record"], field: value}}])
        got = first_problem(post_batch(ledger, body, "application/json"))
        assert got == (422, "invalid_batch", "invalid_record", "record"), (field, value, got)


def test_look_alike_enterprise_in_a_signed_record(
    ledger: LedgerServer, signed: tuple[Terminal, Domain, SignedRecord]
) -> None:
    # Signed correctly, so only the identifier itself can be refused.
    terminal, domain, record = signed
    for enterprise in [
        ENTERPRISE + "\x07",  # a control character
        ENTERPRISE.replace("E", "\N{CYRILLIC CAPITAL LETTER IE}"),  # a look-alike letter
        ENTERPRISE.replace("0", "\N{FULLWIDTH DIGIT ZERO}"),
    ]:
        bad = resign(terminal, domain, record, enterprise=enterprise)
        got = first_problem(post_batch(ledger, batch_json([bad.to_json()]), "application/json"))
        assert got == (422, "invalid_batch", "device_not_bound", "record.enterprise"), enterprise


def test_attributes_without_canonical_json(
    ledger: LedgerServer, signed: tuple[Terminal, Domain, SignedRecord]
) -> None:
    _, _, record = signed
    for attributes in ({"meter": float("nan")}, {"meter": 10**30}, {"\ud800": "lone surrogate"}):
        body = batch_json([{**record.to_json(), "attributes": attributes}])
        got = first_problem(post_batch(ledger, body, "application/json"))
        assert got == (422, "invalid_batch", "invalid_attributes", "attributes"), attributes


def test_oversized_and_non_json_bodies(
    ledger: LedgerServer, signed: tuple[Terminal, Domain, SignedRecord]
) -> None:
    _, _, record = signed
    item = record.to_json()
    copies = 20 * 1024 * 1024 // len(json.dumps(item))
    huge = post_batch(ledger, batch_json([item] * copies), "application/json")
    assert (huge.status_code, huge.json()["error"]["code"]) == (413, "batch_too_large")
    for body, content_type in [
        (b"records=1", "application/x-www-form-urlencoded"),
        (b"hello", "text/plain"),
        (b"\xff\xfe\x00{", "application/json"),
        (b"", "application/json"),
        (b"[1, 2]", "application/json"),
    ]:
        response = post_batch(ledger, body, content_type)
        assert 400 <= response.status_code < 500, (body, response.text)
        error = response.json()["error"]
        assert error["code"] in {"malformed_json", "invalid_request"}, (body, error)
        assert error["field"], (body, error)


def test_other_inputs_the_fuzz_found(
    ledger: LedgerServer, signed: tuple[Terminal, Domain, SignedRecord]
) -> None:
    with ledger.client(timeout=REQUEST_TIMEOUT_S) as http:
        for path in (f"/v1/batches/{10**30}", f"/v1/batches/{2**63}/tree", "/v1/batches/-1"):
            response = http.get(path)
            assert response.status_code == 422, (path, response.text)
            assert response.json()["error"]["field"] == "batch_id"
        sheets = http.post("/v1/registrations/bulk", json={"sheets": {"enterprises": 5}})
        assert sheets.status_code == 400
        assert sheets.json()["error"] == {
            "code": "malformed_body",
            "message": "a sheet is CSV text",
            "field": "sheets.enterprises",
        }
        period = http.post(
            "/v1/evaluations",
            json={"enterprise": ENTERPRISE, "periodStart": "2025-01-01", "periodEnd": "9999-12-31"},
        )
        assert period.status_code == 422
        assert (period.json()["error"]["code"], period.json()["error"]["field"]) == (
            "period_out_of_range",
            "periodEnd",
        )


def test_values_without_canonical_json(
    ledger: LedgerServer, signed: tuple[Terminal, Domain, SignedRecord]
) -> None:
    """NaN, integers beyond 2**53 and lone surrogates (a JSON "\\ud800" escape) have no
    RFC 8785 form: refused where a document is canonicalized, never a 5xx."""
    parent = templates().for_industry("aluminium").id
    template = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": parent}
    metadata = {"uscc": "91330500MA2B3C4D5B", "region": "330500", "industry": "aluminium"}
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        (
            "/v1/templates",
            {"industry": "aluminium", "name": "t", "document": {**template, "x": float("nan")}},
            "invalid_template",
            "document",
        ),
        (
            "/v1/enterprises",
            {"name": "n", "industry": "aluminium", "metadata": {**metadata, "name": "\ud800"}},
            "invalid_metadata",
            "metadata",
        ),
        ("/v1/registrations/bulk", {"sheets": {"enterprises": "\ud800"}}, "malformed_body", "body"),
        (
            "/v1/evaluations",
            {
                "enterprise": ENTERPRISE,
                "periodStart": "2025-06-01",
                "periodEnd": "2025-06-01",
                "factorChoices": {"electricity.purchased": "\ud800"},
            },
            "invalid_request",
            "factorChoices.electricity.purchased",
        ),
    ]
    for path, body, code, field in cases:
        response = ledger.post(
            path,
            content=json.dumps(body, allow_nan=True).encode(),
            headers={"content-type": "application/json"},
        )
        assert 400 <= response.status_code < 500, (path, response.text)
        error = response.json()["error"]
        assert (error["code"], error["field"]) == (code, field), (path, error)
