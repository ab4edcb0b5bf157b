"""Population averages as the attacker uses them: a tenant that subtracts its own figures from
the population's to read a competitor's, re-evaluates with other inputs to solve for its
peers' totals, or an operator that rewrites the published average. Real server, real chain.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import pytest

from ledger_api.commands.serve import build_worker
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.adversary import rewrite_entry
from tests.ledger_api.evaluations.helpers import anchored_hours
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.checks.kernel import CheckStatus
from verifier.checks.population import parse_population_bundle, verify_population
from verifier.rpc import JsonRpcReader

JUNE_2025_CST = 1_748_707_200  # 2025-06-01T00:00:00+08:00
DAY = {"periodStart": "2025-06-01", "periodEnd": "2025-06-01", "ruleset": "zj-huzhou-2021"}
GRID_FACTOR = Decimal("0.5366")  # tCO2/MWh, purchased electricity in the shipped factor set
HOURS = 24
SELF = "88.118.8/ENT-AL-POP-SELF"
# Peers: (hourly MWh in thousandths, added value 万元); the fifth only in the test needing it.
PEERS = [(10_000, "40"), (12_000, "55"), (8_000, "35"), (15_000, "60"), (9_000, "50")]


def _peer(n: int) -> str:
    return f"88.118.8/ENT-AL-POP-{n}"


def _emissions(mwh_thousandths: int) -> Decimal:
    return Decimal(mwh_thousandths).scaleb(-3) * HOURS * GRID_FACTOR


def _firm(
    ledger: LedgerServer, enterprise: str, mwh_thousandths: int, industry: str = "aluminium"
) -> None:
    source = enterprise.replace("/ENT-", "/SRC-") + "-GRID"
    anchored_hours(ledger, enterprise, source, industry, JUNE_2025_CST, HOURS, mwh_thousandths)


def _evaluate(
    ledger: LedgerServer, enterprise: str, added_value: str, token: str | None = None, **more: Any
) -> Any:
    body = {**DAY, "enterprise": enterprise, "addedValue": added_value, **more}
    return ledger.post("/v1/evaluations", token, json=body)


def _tenant(ledger: LedgerServer, enterprise: str) -> str:
    principal = {"name": "tenant-self", "role": "enterprise", "enterprise": enterprise}
    response = ledger.post("/v1/principals", json=principal)
    assert response.status_code == 201, response.text
    return response.json()["key"]["token"]


def _regulator(ledger: LedgerServer) -> str:
    response = ledger.post("/v1/principals", json={"name": "regulator", "role": "regulator"})
    assert response.status_code == 201, response.text
    return response.json()["key"]["token"]


def _attest(ledger: LedgerServer, enterprise: str, token: str) -> Any:
    return ledger.post(f"/v1/enterprises/{enterprise}/registration-attestation", token)


def _population(ledger: LedgerServer, peers: int) -> str:
    """The tenant's smelter and ``peers`` rated peers of the same industry and day, each
    attested by a regulator."""
    regulator = _regulator(ledger)
    _firm(ledger, SELF, 20_000)
    for n, (mwh, added_value) in enumerate(PEERS[:peers]):
        _firm(ledger, _peer(n), mwh)
        assert _evaluate(ledger, _peer(n), added_value).status_code == 201
        assert _attest(ledger, _peer(n), regulator).status_code == 201
    return _tenant(ledger, SELF)


def _refusal(response: Any) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["field"]


@pytest.mark.parametrize("peers", [1, 4])
def test_too_few_peers_is_refused(ledger: LedgerServer, peers: int) -> None:
    """Two firms: the tenant would subtract its own figures and read the other's exactly."""
    token = _population(ledger, peers)
    refused = _evaluate(ledger, SELF, "100", averageSource="population", token=token)
    assert _refusal(refused) == (422, "population_too_small", "averageSource")
    assert "disclose" in refused.json()["error"]["message"]
    assert str(peers) not in refused.json()["error"]["message"]  # how many is not said
    evaluations = ledger.get(f"/v1/enterprises/{SELF}/ratings").json()
    assert evaluations == [] or all(e["periodStart"] != "2025-06-01" for e in evaluations)


@pytest.fixture
def five_peers(ledger: LedgerServer) -> tuple[LedgerServer, str]:
    return ledger, _population(ledger, 5)


def _expected_average() -> Decimal:
    emissions = sum((_emissions(mwh) for mwh, _ in PEERS), Decimal(0))
    added_value = sum((Decimal(v) for _, v in PEERS), Decimal(0))
    return (emissions / added_value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


def test_the_tenant_sees_only_the_rounded_peer_average(five_peers: tuple[LedgerServer, str]):
    ledger, token = five_peers
    response = _evaluate(ledger, SELF, "100", averageSource="population", token=token)
    assert response.status_code == 201, response.text
    average = response.json()["entry"]["rating"]["industry_average"]
    assert Decimal(average["value"]) == _expected_average()
    assert set(average["population"]) == {"definition", "places", "min_members", "members_digest"}
    assert average["population"]["min_members"] == 5
    text = json.dumps(average)
    for leak in ("count", "total", '"members"'):
        assert leak not in text
    # K divides by the rounded average, so its 50 digits give back no more than that average.
    rating = response.json()["entry"]["rating"]
    with localcontext(prec=50):  # the engine's: K = e / (v × average) in one division
        k = _emissions(20_000) / (100 * _expected_average())
    assert Decimal(rating["K"]["exact"]) == k


def test_re_evaluating_with_other_inputs_does_not_move_the_average(
    five_peers: tuple[LedgerServer, str],
) -> None:
    """With its own figures in the average, two evaluations with two added values are two
    equations in the peers' total emissions and added value: the tenant would solve them."""
    ledger, token = five_peers
    first = _evaluate(ledger, SELF, "100", averageSource="population", token=token)
    time.sleep(1.1)  # entry identifiers are minted per second
    correction = {"evaluation": first.json()["identifier"], "reason": "corrected_data", "note": "7"}
    again = _evaluate(
        ledger, SELF, "7", averageSource="population", token=token, supersedes=correction
    )
    assert first.status_code == again.status_code == 201, again.text
    values = [r.json()["entry"]["rating"]["industry_average"]["value"] for r in (first, again)]
    assert values[0] == values[1] and Decimal(values[0]) == _expected_average()


def test_aggregates_withhold_small_cells(five_peers: tuple[LedgerServer, str]) -> None:
    ledger, _ = five_peers
    alone = "88.118.8/ENT-GL-POP-ALONE"
    _firm(ledger, alone, 5_000, industry="flat_glass")
    assert _evaluate(ledger, alone, "9").status_code == 201
    assert _evaluate(ledger, SELF, "100").status_code == 201
    cells = {c["industry"]: c for c in ledger.get("/v1/aggregates/ratings").json()}
    # One glassworks: its cell's total would be its own emissions.
    assert cells["flat_glass"] == {
        "industry": "flat_glass",
        "evaluations": 1,
        "grades": None,
        "totalTCO2e": None,
        "suppressed": True,
    }
    aluminium = cells["aluminium"]
    assert not aluminium["suppressed"] and aluminium["evaluations"] == 6
    # The cell sums each evaluation's reported total (3 decimals, half-even).
    reported = [_emissions(m).quantize(Decimal("0.001")) for m in (20_000, *(m for m, _ in PEERS))]
    expected = sum(reported, Decimal(0))
    assert Decimal(aluminium["totalTCO2e"]) == expected


def test_a_rewritten_peer_average_fails_the_rating_check(
    five_peers: tuple[LedgerServer, str],
) -> None:
    """The operator publishes the exact fraction (digits that give the totals back) or claims
    a floor of one peer; the verifier's rating check refuses both."""
    ledger, token = five_peers
    honest = _evaluate(ledger, SELF, "100", averageSource="population", token=token)
    identifier = honest.json()["identifier"]

    def exact_fraction(entry: dict[str, Any]) -> None:
        average = entry["rating"]["industry_average"]
        average["value"] = str(Decimal(average["value"]) + Decimal("0.00001"))

    rewrite_entry(ledger, identifier, exact_fraction)
    build_worker(ledger.settings()).run_once()
    bundle = ledger.get(f"/v1/evaluations/{identifier}/proof", params={"figure": "total"})
    result = verify_figure(parse_figure_bundle(bundle.json()), None)
    assert result.failed_check == "rating" and result.failure is not None
    assert result.failure.code == "GradeMismatch" and "rounded" in result.failure.reason


def test_an_honest_peer_graded_bundle_says_the_average_is_not_recomputed(
    five_peers: tuple[LedgerServer, str],
) -> None:
    ledger, token = five_peers
    made = _evaluate(ledger, SELF, "100", averageSource="population", token=token)
    build_worker(ledger.settings()).run_once()
    identifier = made.json()["identifier"]
    bundle = ledger.get(f"/v1/evaluations/{identifier}/proof", token, params={"figure": "total"})
    result = verify_figure(
        parse_figure_bundle(bundle.json()), JsonRpcReader(ledger.env["CARBON_RPC_URL"])
    )
    assert result.valid, result.failure
    (rating,) = [c for c in result.checks if c.name == "rating"]
    assert rating.status is CheckStatus.PASSED and "not recomputed" in rating.detail


def test_shell_enterprises_do_not_move_the_average(five_peers: tuple[LedgerServer, str]) -> None:
    """The operator registers four shell smelters with a tiny made-up intensity (huge added
    value): unattested, they count for nothing; only a regulator's key can attest, not the
    operator's admin key or the tenant's."""
    ledger, token = five_peers
    for n in range(4):
        shell = f"88.118.8/ENT-AL-POP-SHELL-{n}"
        _firm(ledger, shell, 1_000)
        assert _evaluate(ledger, shell, "900000").status_code == 201
    for key in (None, token):  # the admin's, then the tenant's
        refused = _attest(ledger, "88.118.8/ENT-AL-POP-SHELL-0", key)
        assert refused.status_code == 403, refused.text
    graded = _evaluate(ledger, SELF, "100", averageSource="population", token=token)
    assert graded.status_code == 201, graded.text
    average = graded.json()["entry"]["rating"]["industry_average"]["value"]
    assert Decimal(average) == _expected_average()


def test_shells_cannot_make_up_the_minimum(ledger: LedgerServer) -> None:
    token = _population(ledger, 4)
    for n in range(3):
        shell = f"88.118.8/ENT-AL-POP-SHELL-{n}"
        _firm(ledger, shell, 1_000)
        assert _evaluate(ledger, shell, "900000").status_code == 201
    refused = _evaluate(ledger, SELF, "100", averageSource="population", token=token)
    assert _refusal(refused) == (422, "population_too_small", "averageSource")


def test_a_regulator_recomputes_the_average_from_its_members(
    five_peers: tuple[LedgerServer, str],
) -> None:
    """The full recomputation is for whoever may see every member: the tenant is refused it;
    a regulator's bundle verifies, and a member dropped or a member's figure changed fails."""
    ledger, token = five_peers
    made = _evaluate(ledger, SELF, "100", averageSource="population", token=token)
    build_worker(ledger.settings()).run_once()
    path = f"/v1/evaluations/{made.json()['identifier']}/population-proof"
    assert ledger.get(path, token).status_code == 403
    regulator = ledger.post("/v1/principals/regulator/keys", json={"label": "proof"})
    response = ledger.get(path, regulator.json()["token"])
    assert response.status_code == 200, response.text
    bundle = parse_population_bundle(response.json())
    result = verify_population(bundle, JsonRpcReader(ledger.env["CARBON_RPC_URL"]))
    assert result.valid, result.failure
    (average,) = [c for c in result.checks if c.name == "average"]
    assert str(_expected_average()) in average.detail and "5 attested peers" in average.detail
    saved = ledger.data_dir / "population-proof.json"
    saved.write_text(response.text)
    rpc = ledger.env["CARBON_RPC_URL"]
    command = [sys.executable, "-m", "verifier.cli", "population", str(saved), "--rpc", rpc]
    ran = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0 and ran.stdout.rstrip().endswith("VALID"), ran.stdout + ran.stderr

    dropped = response.json() | {"members": response.json()["members"][1:]}
    failed = verify_population(parse_population_bundle(dropped), None)
    assert (failed.failed_check, failed.failure and failed.failure.code) == (
        "average",
        "MembersDigestMismatch",
    )
    changed = json.loads(json.dumps(response.json()))
    changed["members"][0]["entry"]["rating"]["added_value_wan_yuan"] = "1"
    failed = verify_population(parse_population_bundle(changed), None)
    assert (failed.failed_check, failed.failure and failed.failure.code) == (
        "entries",
        "EntryLeafMismatch",
    )
