"""Spreadsheets and archives that used to exhaust the server, sent to a real one over HTTP.

Each is refused with 413 and the limit's code in a short body, while the server process's peak
memory (VmHWM) grows by less than ``MEMORY_BOUND``; a slow but legal upload is parsed off the
event loop, so a cheap request sent meanwhile is answered first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from accounting import FileLimits
from ledger_api.core.errors import MAX_MESSAGE
from tests.accounting.spreadsheet_bombs import (
    MIB,
    SHEET,
    dimension_bomb,
    lying_sizes,
    many_members,
    string_bomb,
    workbook,
)
from tests.conftest import LedgerServer

URL = "/v1/registrations/bulk?dryRun=true"
XLSX = {"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
MEMORY_BOUND = 100 * MIB
SHORT = 1_000  # bytes of an error body
LIMITS = FileLimits()
USCC = "91350100M000100Y43"
HEADER = "identifier,name,uscc,region,industry\n"


def peak_memory(ledger: LedgerServer) -> int:
    """The server process's peak resident set so far, in bytes."""
    status = Path(f"/proc/{ledger.server.process.pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def warmed_up(ledger: LedgerServer) -> int:
    """Peak memory after one ordinary upload of each kind, so that imports do not count."""
    ok = workbook([HEADER.strip().split(","), ["88.118.8/CL-ENT-W", "W", USCC, "530100", "cement"]])
    assert ledger.post(URL, content=ok, headers=XLSX).status_code == 200
    csv = HEADER + f"88.118.8/CL-ENT-W,W,{USCC},530100,cement\n"
    assert ledger.post(URL, json={"sheets": {"enterprises": csv}}).status_code == 200
    return peak_memory(ledger)


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    assert len(response.content) < SHORT, len(response.content)
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def test_bombs_are_refused_with_a_code_a_short_body_and_bounded_memory(
    ledger: LedgerServer,
) -> None:
    before = warmed_up(ledger)
    cases = [
        (dimension_bomb(3_000, 16_384), 413, "sheet_too_large"),
        (string_bomb(100 * MIB), 413, "archive_too_large"),  # the ~100 KB bomb: 1000:1
        (lying_sizes(string_bomb(4 * MIB), SHEET, 2**31), 413, "archive_too_large"),
        (many_members(LIMITS.max_members), 413, "archive_too_large"),
    ]
    with ledger.client(timeout=60) as http:
        for bomb, status, code in cases:
            error = refused(http.post(URL, content=bomb, headers=XLSX), status, code)
            assert error["field"] == "body"
        # Declared smaller than it is: inflating stops at the declared size; the CRC fails.
        lie = lying_sizes(string_bomb(4 * MIB), SHEET, 1_000)
        error = refused(http.post(URL, content=lie, headers=XLSX), 422, "invalid_bulk_file")
        assert [p["code"] for p in error["problems"]] == ["unreadable_file"]
    assert peak_memory(ledger) - before < MEMORY_BOUND


def test_an_upload_over_the_limit_is_refused_while_it_streams(ledger: LedgerServer) -> None:
    before = warmed_up(ledger)

    def chunks() -> Iterator[bytes]:  # no Content-Length: only counting can stop it
        for _ in range(2 * LIMITS.max_bytes // MIB):
            yield b"\0" * MIB

    with ledger.client(timeout=60) as http:
        try:
            response = http.post(URL, content=chunks(), headers=XLSX)
        except httpx.TransportError:  # it may answer and close before all is sent; the memory
            response = None  # bound below still shows the rest was never buffered
        if response is not None:
            refused(response, 413, "upload_too_large")
        declared = http.post(URL, content=b"\0" * (LIMITS.max_bytes + 1), headers=XLSX)
        refused(declared, 413, "upload_too_large")
    assert peak_memory(ledger) - before < MEMORY_BOUND


def test_csv_bombs_and_echoes(ledger: LedgerServer) -> None:
    before = warmed_up(ledger)
    with ledger.client(timeout=60) as http:
        long_line = HEADER + "x" * MIB + "\n"
        error = refused(
            http.post(URL, json={"sheets": {"enterprises": long_line}}), 413, "line_too_long"
        )
        assert error["field"] == "sheets.enterprises"
        ten_mb = HEADER + "x" * (10 * MIB) + "\n"  # over the upload limit as a whole
        refused(http.post(URL, json={"sheets": {"enterprises": ten_mb}}), 413, "upload_too_large")
        # A huge cell is named in an excerpt, never echoed.
        huge = "A" * 60_000
        response = http.post(
            URL,
            json={"sheets": {"enterprises": HEADER + f"{huge},n,{USCC},530100,cement\n"}},
        )
        error = refused(response, 422, "invalid_bulk_file")
        assert "A" * 200 not in response.text
        # The shared handler clips what validation errors quote: here a key of the body.
        key = "k" * 100_000
        response = http.post(
            "/v1/evaluations",
            json={
                "enterprise": "88.118.8/CL-ENT-1",
                "periodStart": "2025-06-01",
                "periodEnd": "2025-06-01",
                "factorChoices": {key: "grid.x"},
            },
        )
        assert response.status_code == 422, response.text[:300]
        assert response.json()["error"]["code"] == "invalid_request"
        assert response.json()["error"]["field"].startswith("factorChoices.kkk")
        assert len(response.content) < 3 * MAX_MESSAGE
    assert peak_memory(ledger) - before < MEMORY_BOUND


def test_problems_are_capped_and_counted(ledger: LedgerServer) -> None:
    rows = 1_000  # one problem each: whitespace in the identifier
    sheet = HEADER + "".join(f"88.118.8/BAD {i},n,{USCC},530100,cement\n" for i in range(rows))
    response = ledger.post(URL, json={"sheets": {"enterprises": sheet}})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == f"{rows} problem(s); nothing registered"
    listed, more = error["problems"][:-1], error["problems"][-1]
    assert len(listed) == 100
    assert {p["code"] for p in listed} == {"whitespace"}
    assert [p["index"] for p in listed] == list(range(2, 102))  # spreadsheet rows, header = 1
    assert more == {
        "code": "more_problems",
        "message": f"{rows - 100} more problem(s) not listed",
        "field": "body",
    }
    assert len(response.content) < 100 * 300


def test_a_slow_upload_does_not_hold_up_other_requests(ledger: LedgerServer) -> None:
    rows = "".join(f"88.118.8/CL-ENT-SLOW-{i},Slow {i},{USCC},530100,cement\n" for i in range(2000))
    body = {"sheets": {"enterprises": HEADER + rows}}
    warmed_up(ledger)
    started = time.monotonic()
    assert ledger.post(URL, json=body).status_code == 200
    alone = time.monotonic() - started
    finished: dict[str, float] = {}

    def upload() -> None:
        assert ledger.post(URL, json=body).status_code == 200
        finished["upload"] = time.monotonic()

    worker = threading.Thread(target=upload)
    worker.start()
    time.sleep(alone / 3)  # well inside the upload's processing, however fast this machine is
    assert "upload" not in finished
    assert ledger.get("/v1/typed-data").status_code == 200
    finished["get"] = time.monotonic()
    worker.join()
    assert finished["get"] < finished["upload"], (alone, finished)
