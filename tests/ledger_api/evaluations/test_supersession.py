"""One current evaluation per enterprise, period and ruleset (docs/grading.md, "Re-evaluation").

A second evaluation of a period is refused unless it names the one it supersedes and why; the
supersession is anchored in the new entry; the old one stays readable, marked superseded; what
financiers read (portfolio, profile, trend, aggregates) and the public page use the current
one; the old one's figure proof verifies, with ``supersession`` a warning naming its successor.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from devtools.publishing import sign_and_post
from devtools.seeding import enterprise_secret, register
from ledger_api.commands.serve import build_worker
from terminal.client import Terminal
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.adversary import (
    ENTERPRISE,
    GRID,
    JUNE_2025_CST,
    OTHER,
    OTHER_GRID,
    proof,
    verify,
)
from tests.ledger_api.evaluations.helpers import HOUR, anchored_hours
from tests.verifier.js_runner import assert_agree
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.checks.kernel import CheckStatus, VerificationResult
from verifier.protocol.typed_data import ActivityRecord

JUNE_1_2 = {"periodStart": "2025-06-01", "periodEnd": "2025-06-02"}
JUNE_3_4 = {"periodStart": "2025-06-03", "periodEnd": "2025-06-04"}
RULESET = "zj-huzhou-2021"
# Hourly grid readings, in thousandths of a MWh: 10 MWh an hour on 1-2 June, 12 on 3-4 June.
FIRST_DAYS_KWH, LATER_DAYS_KWH = 10_000, 12_000


def _anchor(ledger: LedgerServer) -> None:
    build_worker(ledger.settings()).run_once()


def _four_days(ledger: LedgerServer) -> None:
    """96 anchored hourly readings from 1 June (CST) and one just after: two two-day periods
    whose electricity differs by the stated hourly quantities."""
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [GRID], terminal, industry="aluminium")
    client = ledger.ledger_client()
    domain = client.domain()
    records = [
        terminal.sign(
            domain,
            ActivityRecord(
                enterprise=ENTERPRISE,
                source=GRID,
                device=terminal.address,
                seq=i + 1,
                activity="electricity.purchased",
                quantity=FIRST_DAYS_KWH if i < 48 else LATER_DAYS_KWH,
                decimals=3,
                unit="MWh",
                period_start=JUNE_2025_CST + i * HOUR,
                period_end=JUNE_2025_CST + (i + 1) * HOUR,
            ),
        )
        for i in range(97)
    ]
    client.submit(records)
    _anchor(ledger)


@pytest.fixture
def four_days(ledger: LedgerServer) -> LedgerServer:
    _four_days(ledger)
    return ledger


def _post(ledger: LedgerServer, period: dict[str, str], **more: Any) -> Any:
    body = {"enterprise": ENTERPRISE, **period, "addedValue": "20", "ruleset": RULESET}
    return ledger.post("/v1/evaluations", json={**body, **more})


def _made(ledger: LedgerServer, period: dict[str, str], **more: Any) -> dict[str, Any]:
    answer = _post(ledger, period, **more)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _supersedes(identifier: str, reason: str = "corrected_data") -> dict[str, str]:
    return {"evaluation": identifier, "reason": reason, "note": "added value restated by audit"}


def _check(result: VerificationResult, name: str) -> tuple[CheckStatus, str]:
    (check,) = [c for c in result.checks if c.name == name]
    return check.status, check.detail


def test_a_second_evaluation_of_a_period_is_refused(four_days: LedgerServer) -> None:
    first = _made(four_days, JUNE_1_2)
    again = _post(four_days, JUNE_1_2, addedValue="25")
    assert again.status_code == 409
    error = again.json()["error"]
    assert (error["code"], error["field"]) == ("evaluation_exists", "supersedes")
    assert first["identifier"] in error["message"]  # the caller manages it: it may see it
    unknown_reason = _post(four_days, JUNE_1_2, supersedes={**_supersedes("x"), "reason": "whim"})
    assert unknown_reason.status_code == 422
    assert unknown_reason.json()["error"]["field"] == "supersedes.reason"
    no_note = _post(
        four_days,
        JUNE_1_2,
        supersedes={"evaluation": first["identifier"], "reason": "corrected_data"},
    )
    assert no_note.status_code == 422
    assert no_note.json()["error"]["field"] == "supersedes.note"
    # Another period is a first evaluation, not a duplicate.
    assert _post(four_days, JUNE_3_4).status_code == 201


def test_a_supersession_is_anchored_and_the_old_entry_stays_readable(
    four_days: LedgerServer,
) -> None:
    first = _made(four_days, JUNE_1_2)
    second = _made(
        four_days, JUNE_1_2, addedValue="25", supersedes=_supersedes(first["identifier"])
    )
    assert second["identifier"] != first["identifier"]
    assert second["entry"]["supersedes"] == {
        "evaluation": first["identifier"],
        "digest": first["digest"],
        "reason": "corrected_data",
        "note": "added value restated by audit",
    }
    old = four_days.get(f"/v1/evaluations/{first['identifier']}").json()
    assert old["supersession"]["current"] is False
    assert old["supersession"]["supersededBy"] == {
        "evaluation": second["identifier"],
        "reason": "corrected_data",
        "note": "added value restated by audit",
    }
    assert old["entry"] == first["entry"]  # history is not rewritten
    assert four_days.get(f"/v1/evaluations/{second['identifier']}").json()["supersession"][
        "current"
    ]
    history = four_days.get(f"/v1/enterprises/{ENTERPRISE}/ratings").json()
    assert [(r["evaluation"], r["supersededBy"]) for r in history] == [
        (first["identifier"], second["identifier"]),
        (second["identifier"], None),
    ]
    _anchor(four_days)
    result = verify(four_days, proof(four_days, second["identifier"]))
    assert result.valid, result.failure  # the entry naming the superseded digest is on chain
    status, detail = _check(result, "supersession")
    assert status is CheckStatus.PASSED
    assert detail.startswith(f"supersedes {first['identifier']} (corrected_data); the bundle shows")


def test_the_superseded_proof_verifies_with_a_warning(four_days: LedgerServer) -> None:
    first = _made(four_days, JUNE_1_2)
    _anchor(four_days)
    before = proof(four_days, first["identifier"])
    assert before.superseded_by is None
    second = _made(
        four_days, JUNE_1_2, addedValue="25", supersedes=_supersedes(first["identifier"])
    )
    assert proof(four_days, first["identifier"]).superseded_by is None  # successor not anchored
    _anchor(four_days)
    bundle = proof(four_days, first["identifier"])
    assert bundle.superseded_by is not None
    result = verify(four_days, bundle)
    assert result.valid, result.failure
    status, detail = _check(result, "supersession")
    assert status is CheckStatus.WARNING
    assert detail.startswith(f"superseded by {second['identifier']} (corrected_data)")
    assert detail in result.to_json()["warnings"]
    assert _check(result, "anchored")[0] is CheckStatus.PASSED

    # A forged successor: its entry no longer hashes to the anchored leaf.
    data = bundle.to_json()
    forged = copy.deepcopy(data)
    forged["supersededBy"]["entry"]["supersedes"]["reason"] = "new_factor_set"
    failed = verify_figure(parse_figure_bundle(forged), None)
    assert (failed.failed_check, failed.failure and failed.failure.code) == (
        "supersession",
        "SupersessionLeafMismatch",
    )
    # A genuine anchored entry that supersedes another one is not this entry's successor.
    stranger = copy.deepcopy(data)
    stranger["entry"], stranger["entryProof"] = (
        data["supersededBy"]["entry"],
        {k: data["supersededBy"][k] for k in ("leaf", "proof", "batch", "anchor")},
    )
    failed = verify_figure(parse_figure_bundle(stranger), None)
    assert failed.failed_check == "supersession"
    assert failed.failure is not None and failed.failure.code == "SupersessionMismatch"
    # The browser's verifier says the same, check by check (the warning included).
    cases = [
        ("superseded", bundle, True),
        ("forged-successor", parse_figure_bundle(forged), False),
        ("stranger-successor", parse_figure_bundle(stranger), False),
    ]
    assert_agree("figure", cases, verify_figure, four_days.env["CARBON_RPC_URL"])


def test_forged_supersessions_are_refused(ledger: LedgerServer) -> None:
    anchored_hours(ledger, ENTERPRISE, GRID, "aluminium", JUNE_2025_CST, 48, 10_000)
    anchored_hours(ledger, OTHER, OTHER_GRID, "aluminium", JUNE_2025_CST, 48, 10_000)
    mine = _made(ledger, JUNE_1_2)
    theirs = ledger.post(
        "/v1/evaluations",
        json={"enterprise": OTHER, **JUNE_1_2, "addedValue": "20", "ruleset": RULESET},
    ).json()
    # Naming another enterprise's evaluation: the same answer as for one that does not exist.
    for named in (theirs["identifier"], "88.118.8/CL-EVAL-0000000000000000"):
        answer = _post(ledger, JUNE_1_2, supersedes=_supersedes(named))
        assert answer.status_code == 422
        error = answer.json()["error"]
        assert (error["code"], error["field"]) == ("supersedes_unknown", "supersedes.evaluation")
    corrected = _made(ledger, JUNE_1_2, addedValue="25", supersedes=_supersedes(mine["identifier"]))
    # A second successor of one entry (a fork of its history) is refused.
    fork = _post(ledger, JUNE_1_2, addedValue="30", supersedes=_supersedes(mine["identifier"]))
    assert fork.status_code == 409
    error = fork.json()["error"]
    assert (error["code"], error["field"]) == ("already_superseded", "supersedes.evaluation")
    assert corrected["identifier"] in error["message"]
    # Without a ruleset the region-less firm's period is not gradable: another ruleset ("none"),
    # which replaces a graded evaluation only for the reason that says so.
    ungraded = {"enterprise": ENTERPRISE, **JUNE_1_2, "addedValue": "25"}
    as_correction = {**ungraded, "supersedes": _supersedes(corrected["identifier"])}
    answer = ledger.post("/v1/evaluations", json=as_correction)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("supersession_reason", "supersedes.reason")
    change = {**ungraded, "supersedes": _supersedes(corrected["identifier"], "ruleset_change")}
    answer = ledger.post("/v1/evaluations", json=change)
    assert answer.status_code == 201, answer.text
    assert answer.json()["entry"]["rating"] is None
    assert answer.json()["entry"]["supersedes"]["reason"] == "ruleset_change"


def test_financiers_read_the_current_evaluation_and_a_trend_of_two_periods(
    four_days: LedgerServer,
) -> None:
    bank = four_days.post("/v1/principals", json={"name": "bank", "role": "financier"}).json()
    token = bank["key"]["token"]
    grant = {"grantee": "bank", "purpose": "green loan"}
    assert four_days.post(f"/v1/enterprises/{ENTERPRISE}/grants", json=grant).status_code == 201
    first = _made(four_days, JUNE_1_2)
    second = _made(
        four_days, JUNE_1_2, addedValue="25", supersedes=_supersedes(first["identifier"])
    )
    # K moves with the corrected added value: L = total / added value.
    assert Decimal(first["entry"]["rating"]["L"]["reported"]) != Decimal(
        second["entry"]["rating"]["L"]["reported"]
    )
    profile = four_days.get(f"/v1/enterprises/{ENTERPRISE}/profile", token).json()
    assert [r["evaluation"] for r in profile["ratings"]] == [second["identifier"]]
    assert profile["emissionsChangePercent"] is None  # one period: no trend
    (row,) = four_days.get("/v1/portfolio", token).json()["items"]
    assert row["K"] == second["entry"]["rating"]["K"]["reported"]

    later = _made(four_days, JUNE_3_4)
    profile = four_days.get(f"/v1/enterprises/{ENTERPRISE}/profile", token).json()
    assert [r["evaluation"] for r in profile["ratings"]] == [
        second["identifier"],
        later["identifier"],
    ]
    # 48 h of 10 MWh, then 48 h of 12 MWh, on one grid factor: +20 %.
    before, after = 48 * FIRST_DAYS_KWH, 48 * LATER_DAYS_KWH
    expected = ((Decimal(after) - before) / before * 100).quantize(Decimal("0.01"))
    assert Decimal(profile["emissionsChangePercent"]) == expected

    aggregates = four_days.get("/v1/aggregates/ratings").json()
    (aluminium,) = [a for a in aggregates if a["industry"] == "aluminium"]
    assert aluminium["evaluations"] == 2  # the superseded one is not counted


def test_the_public_page_of_a_superseded_evaluation_links_the_current_one(
    four_days: LedgerServer,
) -> None:
    first = _made(four_days, JUNE_1_2)
    second = _made(
        four_days, JUNE_1_2, addedValue="25", supersedes=_supersedes(first["identifier"])
    )
    _anchor(four_days)
    owner = _owner_token(four_days)
    key, domain = enterprise_secret(ENTERPRISE), four_days.ledger_client().domain()
    for identifier in (first["identifier"], second["identifier"]):
        with four_days.client() as http:  # the enterprise signs each publication
            published = sign_and_post(http, owner, domain, key, identifier, "publish")
        assert published.status_code == 200, published.text
    page = four_days.get(f"/v/{first['identifier']}")
    assert page.status_code == 200
    assert f'data-superseded-by="{second["identifier"]}"' in page.text
    assert f'href="/v/{second["identifier"]}"' in page.text
    current = four_days.get(f"/v/{second['identifier']}")
    assert "data-superseded-by" not in current.text


def _owner_token(ledger: LedgerServer) -> str:
    """An API key of the enterprise itself: only it publishes its evaluations."""
    made = ledger.post(
        "/v1/principals",
        json={"name": "aluminium-owner", "role": "enterprise", "enterprise": ENTERPRISE},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["key"]["token"])
