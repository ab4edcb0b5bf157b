"""Each rule raised and resolved from signed readings whose figures the test works out, the
alert lifecycle, and tenancy: nobody sees or hears of an enterprise they may not see."""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import replace
from decimal import Decimal

import httpx

from accounting import load_factor_set
from accounting.energy import load_energy_set
from accounting.grid import select_grid_factor
from devtools.seeding import HOUR, PERIOD_START, reading
from terminal.client import Terminal
from tests.ledger_api.evaluations.helpers import anchored_hours
from tests.ledger_api.monitoring.conftest import Mon
from verifier.protocol.asset_ops import ZERO_PREV, AssetOperation

# GB/T 2589: purchased electricity at its equivalent value (等价值) of the shipped coefficient
# set for 2026 (0.3007 tce/MWh, the 2022 figure), per kWh.
TCE_PER_KWH = load_energy_set().electricity("equivalent", 2026).value / 1000
WEEK_HOURS = 7 * 24
LOCAL_OFFSET = 8 * HOUR  # reporting periods are China time


def tce(kwh: Decimal) -> Decimal:
    return (kwh * TCE_PER_KWH).quantize(Decimal("1e-9"))


def grid_ef() -> Decimal:
    """tCO2 per MWh the evaluation's selection rule gives an enterprise without a region."""
    return select_grid_factor(load_factor_set("cn-ghg-v2"), None, 2026).factor.value


def _events(mon: Mon, path: str, alert_id: int) -> list[str]:
    return [
        r.payload["type"]
        for r in mon.receiver.at(path)
        if r.payload["data"].get("alert") == alert_id
    ]


def test_a_reading_above_the_limit_raises_and_the_next_below_resolves(mon: Mon) -> None:
    ent, src = "88.118.8/ENT-MON-READ", "88.118.8/SRC-MON-READ"
    terminal = mon.enterprise(ent, [src])
    mon.subscribe(None, "/read-admin")
    mon.rule(ent, "energy_threshold", {"per": "reading", "limitTce": "0.35"})
    domain = mon.server.ledger_client().domain()
    # 1,234.5 kWh is 0.37121415 tce: above 0.35. 1,000.0 kWh is 0.3007 tce: below.
    assert tce(Decimal("1234.5")) > Decimal("0.35") > tce(Decimal(1000))
    mon.submit([terminal.sign(domain, reading(terminal, ent, src, 1, quantity=12_345))])
    mon.round()
    [alert] = mon.alerts(ent)
    assert (alert["state"], alert["subject"], alert["kind"]) == ("raised", src, "energy_threshold")
    assert Decimal(alert["figures"]["readingTce"]) == tce(Decimal("1234.5"))
    mon.submit([terminal.sign(domain, reading(terminal, ent, src, 2, quantity=10_000))])
    mon.round()
    done = mon.alert(alert["id"])
    assert done["state"] == "resolved"
    assert [(e["action"], e["actor"]) for e in done["events"]] == [
        ("raised", "monitor"),
        ("resolved", "monitor"),
    ]
    assert _events(mon, "/read-admin", alert["id"]) == ["alert.raised", "alert.resolved"]
    assert mon.receiver.forged == 0


def test_an_hour_outside_the_learned_band_raises_and_a_usual_one_resolves(mon: Mon) -> None:
    ent, src = "88.118.8/ENT-MON-BAND", "88.118.8/SRC-MON-BAND"
    terminal = mon.enterprise(ent, [src])
    mon.rule(ent, "energy_band", {"k": "3", "weeks": 4, "minHistory": 3})
    domain = mon.server.ledger_client().domain()
    kwh = {0: 100, 1: 110, 2: 120, 3: 200, 4: 110}  # week → kWh of the same hour

    def submit(week: int) -> None:
        record = reading(terminal, ent, src, 10 + week * WEEK_HOURS, quantity=kwh[week] * 10)
        mon.submit([terminal.sign(domain, record)])
        mon.round()

    for week in (0, 1, 2):
        submit(week)
    assert mon.alerts(ent) == []  # too little history to judge
    submit(3)
    [alert] = mon.alerts(ent)
    past = [tce(Decimal(kwh[w])) for w in (0, 1, 2)]
    median = statistics.median(past)
    mad = statistics.median([abs(v - median) for v in past])
    assert Decimal(alert["figures"]["median"]) == median
    assert Decimal(alert["figures"]["high"]) == median + 3 * mad
    assert Decimal(alert["figures"]["hourTce"]) == tce(Decimal(200)) > median + 3 * mad
    submit(4)  # 110 kWh against weeks 0–3: median 115, MAD 10 → inside 85–145
    assert mon.alert(alert["id"])["state"] == "resolved"


def test_projected_emissions_warn_at_80_escalate_at_100_and_clear_next_month(mon: Mon) -> None:
    ent, src = "88.118.8/ENT-MON-BUDGET", "88.118.8/SRC-MON-BUDGET"
    terminal = mon.enterprise(ent, [src])
    domain = mon.server.ledger_client().domain()
    month_start = PERIOD_START - LOCAL_OFFSET  # 1 January, 00:00 China time
    month_s = 31 * 24 * HOUR
    ef = grid_ef()

    def projected(hours: int) -> Decimal:
        mtd = hours * ef  # one MWh an hour
        return mtd * month_s / (PERIOD_START + hours * HOUR - month_start)

    budget = (projected(10) / Decimal("0.85")).quantize(Decimal("0.001"))  # 85 % after 10 h
    mon.rule(ent, "emission_budget", {"budgetT": str(budget), "levels": [80, 90, 100]})
    mwh = [
        terminal.sign(domain, reading(terminal, ent, src, s, quantity=10_000)) for s in range(20)
    ]
    mon.submit(mwh[:10])
    mon.round()
    [alert] = mon.alerts(ent)
    assert (alert["level"], alert["subject"]) == ("80", ent)
    assert Decimal(alert["figures"]["projectedT"]) == projected(10)
    mon.submit(mwh[10:])  # after 20 h the projection is 85 % × 20/10 × 18/28 ≈ 109 %
    mon.round()
    after = mon.alert(alert["id"])
    assert projected(20) * 100 / budget >= 100
    assert (after["level"], Decimal(after["figures"]["projectedT"])) == ("100", projected(20))
    assert [e["action"] for e in after["events"]] == ["raised", "escalated"]
    february = 31 * 24 - 8  # the first hour of 1 February, China time
    mon.submit([terminal.sign(domain, reading(terminal, ent, src, february, quantity=1))])
    mon.round()
    assert mon.alert(alert["id"])["state"] == "resolved"


def test_intensity_worse_than_the_level_raises_and_is_resolved_by_hand(mon: Mon) -> None:
    ent, src = "88.118.8/ENT-MON-BENCH", "88.118.8/SRC-MON-BENCH"
    terminal = mon.enterprise(ent, [src])
    owner = mon.principal("mon-bench-owner", "enterprise", enterprise=ent)
    intensity = grid_ef() / (1000 * TCE_PER_KWH)  # tCO2e per tce of purchased electricity
    level = (intensity - Decimal("0.5")).quantize(Decimal("0.1"))
    mon.rule(ent, "benchmark", {"levelTPerTce": str(level)})
    domain = mon.server.ledger_client().domain()
    mon.submit([terminal.sign(domain, reading(terminal, ent, src, 1, quantity=10_000))])
    mon.round()
    [alert] = mon.alerts(ent)
    assert Decimal(alert["figures"]["intensityTPerTce"]) == intensity.quantize(Decimal("0.000001"))
    acked = mon.server.post(f"/v1/alerts/{alert['id']}/acknowledge", owner, json={"note": "seen"})
    assert acked.json()["state"] == "acknowledged"
    no_note = mon.server.post(f"/v1/alerts/{alert['id']}/resolve", owner, json={})
    assert (no_note.status_code, no_note.json()["error"]["field"]) == (422, "note")
    done = mon.server.post(
        f"/v1/alerts/{alert['id']}/resolve", owner, json={"note": "new level agreed"}
    )
    assert done.json()["state"] == "resolved"
    assert [(e["action"], e["actor"], e["note"]) for e in done.json()["events"]] == [
        ("raised", "monitor", None),
        ("acknowledged", "mon-bench-owner", "seen"),
        ("resolved", "mon-bench-owner", "new level agreed"),
    ]
    again = mon.server.post(f"/v1/alerts/{alert['id']}/resolve", owner, json={"note": "twice"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "alert_resolved")


def test_silent_terminal_sequence_gap_and_reading_ahead_of_the_clock(mon: Mon) -> None:
    ent, src = "88.118.8/ENT-MON-DQ", "88.118.8/SRC-MON-DQ"
    terminal = mon.enterprise(ent, [src])
    mon.rule(ent, "data_quality", {"maxSilenceS": 3_600, "maxAheadS": 60})
    domain = mon.server.ledger_client().domain()
    address = terminal.address
    mon.round(int(time.time()) + 2 * 3_600)  # registered, never heard from, two hours on
    [silent] = mon.alerts(ent)
    assert silent["subject"] == f"{address}/silent" and silent["figures"]["silentS"] > 3_600
    mon.submit([terminal.sign(domain, reading(terminal, ent, src, s)) for s in (1, 2, 5)])
    mon.round()
    assert mon.alert(silent["id"])["state"] == "resolved"
    [gap] = [a for a in mon.alerts(ent, state="open") if a["subject"] == f"{address}/gap"]
    assert gap["figures"] == {"afterSeq": 2, "nextSeq": 5, "missing": 2}
    now = int(time.time())
    ahead = replace(reading(terminal, ent, src, 6), period_start=now - 3_400, period_end=now + 200)
    mon.submit([terminal.sign(domain, ahead)])
    mon.round()
    [late] = [a for a in mon.alerts(ent, state="open") if a["subject"] == f"{address}/ahead"]
    assert 140 <= late["figures"]["aheadS"] <= 200  # received within a minute of signing


def test_nobody_sees_or_hears_of_an_enterprise_they_may_not_see(mon: Mon) -> None:
    a, src_a = "88.118.8/ENT-MON-TEN-A", "88.118.8/SRC-MON-TEN-A"
    b = "88.118.8/ENT-MON-TEN-B"
    terminal = mon.enterprise(a, [src_a])
    mon.enterprise(b, ["88.118.8/SRC-MON-TEN-B"])
    owner_b = mon.principal("mon-ten-owner-b", "enterprise", enterprise=b)
    bank = mon.principal("mon-ten-bank", "financier")
    stranger = mon.principal("mon-ten-stranger", "financier")
    assert mon.server.post(
        f"/v1/enterprises/{a}/grants", json={"grantee": "mon-ten-bank"}
    ).is_success
    mon.subscribe(owner_b, "/ten-b")
    mon.subscribe(bank, "/ten-bank")
    mon.subscribe(stranger, "/ten-stranger")
    refused = mon.server.post("/v1/watchlist", stranger, json={"enterprise": a})
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "enterprise_not_found")
    assert mon.server.post("/v1/watchlist", bank, json={"enterprise": a}).status_code == 201
    mon.rule(a, "energy_threshold", {"per": "reading", "limitTce": "0.1"})
    domain = mon.server.ledger_client().domain()
    mon.submit([terminal.sign(domain, reading(terminal, a, src_a, 1))])
    mon.round()
    [alert] = mon.alerts(a)
    assert [r.payload["data"]["alert"] for r in mon.receiver.at("/ten-bank")] == [alert["id"]]
    assert mon.receiver.at("/ten-b") == [] and mon.receiver.at("/ten-stranger") == []
    for token in (owner_b, stranger):
        assert mon.server.get("/v1/alerts", token).json()["alerts"] == []
        hidden = mon.server.get(f"/v1/alerts/{alert['id']}", token)
        assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "alert_not_found")
        listed = mon.server.get("/v1/alerts", token, params={"enterprise": a})
        assert (listed.status_code, listed.json()["error"]["code"]) == (404, "enterprise_not_found")
        url = mon.receiver.base_url + "/x"
        sub = mon.server.post(
            "/v1/webhook-subscriptions", token, json={"url": url, "enterprise": a}
        )
        assert (sub.status_code, sub.json()["error"]["code"]) == (404, "enterprise_not_found")
    rule = mon.server.post(
        "/v1/monitor-rules",
        owner_b,
        json={"enterprise": a, "kind": "benchmark", "params": {"levelTPerTce": "1"}},
    )
    assert (rule.status_code, rule.json()["error"]["code"]) == (404, "enterprise_not_found")
    ack = mon.server.post(f"/v1/alerts/{alert['id']}/acknowledge", bank, json={})
    assert (ack.status_code, ack.json()["error"]["code"]) == (403, "forbidden")


def test_a_watcher_hears_of_a_revoked_terminal(mon: Mon) -> None:
    from devtools.seeding import revoke

    ent = "88.118.8/ENT-MON-WATCH"
    terminal = mon.enterprise(ent, ["88.118.8/SRC-MON-WATCH"])
    regulator = mon.principal("mon-watch-regulator", "regulator")
    mon.subscribe(regulator, "/watch-reg")
    assert mon.server.post("/v1/watchlist", regulator, json={"enterprise": ent}).status_code == 201
    assert revoke(mon.server.server, ent, terminal.address, None).status_code == 201
    mon.round()
    [told] = [r for r in mon.receiver.at("/watch-reg") if r.payload["type"] == "terminal.revoked"]
    assert told.payload["data"]["device"] == terminal.address


def test_rule_parameters_are_checked_with_the_field_at_fault(mon: Mon) -> None:
    ent = "88.118.8/ENT-MON-PARAMS"
    mon.enterprise(ent, ["88.118.8/SRC-MON-PARAMS"])
    mon.enterprise("88.118.8/ENT-MON-PARAMS-B", ["88.118.8/SRC-MON-PARAMS-B"])
    bad = mon.server.post(
        "/v1/monitor-rules",
        json={"enterprise": ent, "kind": "energy_threshold", "params": {"limitTce": "-1"}},
    )
    assert (bad.status_code, bad.json()["error"]["code"], bad.json()["error"]["field"]) == (
        422,
        "invalid_rule_params",
        "params.limitTce",
    )
    both = mon.server.post(
        "/v1/monitor-rules",
        json={
            "enterprise": ent,
            "kind": "emission_budget",
            "params": {"budgetT": "1", "allowances": True},
        },
    )
    assert (both.status_code, both.json()["error"]["code"]) == (422, "invalid_rule_params")
    foreign = mon.server.post(
        "/v1/monitor-rules",
        json={
            "enterprise": ent,
            "kind": "benchmark",
            "source": "88.118.8/SRC-MON-PARAMS-B",
            "params": {"levelTPerTce": "1"},
        },
    )
    assert (foreign.status_code, foreign.json()["error"]["field"]) == (422, "source")


def _portal(mon: Mon, token: str) -> httpx.Client:
    """A browser signed in to the portal with ``token``."""
    browser = httpx.Client(base_url=mon.server.base_url, timeout=30)
    form = browser.get("/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    signed_in = browser.post("/sign-in", data={"api_key": token, "csrf": csrf.group(1)})
    assert signed_in.status_code == 303, signed_in.text
    return browser


def test_the_portal_lists_the_alerts_of_visible_enterprises_only(mon: Mon) -> None:
    ent, src = "88.118.8/ENT-MON-PAGE", "88.118.8/SRC-MON-PAGE"
    terminal = mon.enterprise(ent, [src])
    mon.enterprise("88.118.8/ENT-MON-PAGE-B", ["88.118.8/SRC-MON-PAGE-B"])
    owner = mon.principal("mon-page-owner", "enterprise", enterprise=ent)
    other = mon.principal("mon-page-other", "enterprise", enterprise="88.118.8/ENT-MON-PAGE-B")
    mon.rule(ent, "energy_threshold", {"per": "reading", "limitTce": "0.1"})
    domain = mon.server.ledger_client().domain()
    mon.submit([terminal.sign(domain, reading(terminal, ent, src, 1))])
    mon.round()
    assert httpx.get(mon.server.base_url + "/portal/alerts").status_code == 303
    mine, theirs = _portal(mon, owner), _portal(mon, other)
    try:
        assert src in mine.get("/portal/alerts").text
        assert src not in theirs.get("/portal/alerts").text
    finally:
        mine.close()
        theirs.close()


def test_projection_against_the_allowances_held_in_the_asset_book(mon: Mon) -> None:
    ent, src = "88.118.8/ENT-MON-CEA", "88.118.8/SRC-MON-CEA"
    terminal = mon.enterprise(ent, [src])
    domain = mon.server.ledger_client().domain()
    month_start = PERIOD_START - LOCAL_OFFSET
    projected = 10 * grid_ef() * (31 * 24 * HOUR) / (PERIOD_START + 10 * HOUR - month_start)
    held = int(projected / Decimal("0.95")) + 1  # the projection is 95 % of it, a little less
    issuer = Terminal.create()
    with mon.server.client() as http:
        answer = http.put("/v1/programs/CEA/issuer", json={"address": issuer.address})
    assert answer.status_code in (200, 201), answer.text
    issue = AssetOperation(
        action="issue",
        asset="88.118.8/CL-AST-CEA2025-MON-01",
        program="CEA",
        vintage=2025,
        serial_prefix="CN-CEA-2025-MON-",
        first=1,
        last=held,
        owner=ent,
        recipient="",
        prev=ZERO_PREV,
        reference="monitoring test issuance",
        timestamp=int(time.time()),
    )
    body = {
        "operation": issue.to_message(),
        "signature": issuer.sign_asset_operation(domain, issue),
    }
    assert mon.server.post("/v1/asset-operations", json=body).status_code == 201
    mon.rule(ent, "emission_budget", {"allowances": True, "levels": [80, 90, 100]})
    mon.submit(
        [terminal.sign(domain, reading(terminal, ent, src, s, quantity=10_000)) for s in range(10)]
    )
    mon.round()
    [alert] = mon.alerts(ent)
    assert (alert["level"], alert["figures"]["basis"]) == ("90", "allowances")
    assert Decimal(alert["figures"]["budgetT"]) == held
    assert Decimal(alert["figures"]["projectedT"]) == projected


def test_a_watcher_hears_of_a_worse_grade_and_a_superseded_evaluation(mon: Mon) -> None:
    ent, src = "88.118.8/ENT-MON-GRADE", "88.118.8/SRC-MON-GRADE"
    june_1_cst = 1_748_707_200  # 2025-06-01T00:00:00+08:00, a day the shipped ruleset grades
    anchored_hours(mon.server, ent, src, "aluminium", june_1_cst, 24, 10_000)
    regulator = mon.principal("mon-grade-regulator", "regulator")
    mon.subscribe(regulator, "/grade-reg")
    assert mon.server.post("/v1/watchlist", regulator, json={"enterprise": ent}).status_code == 201
    day = {"enterprise": ent, "periodStart": "2025-06-01", "periodEnd": "2025-06-01"}
    # 240 MWh over a day: L is 10,000 times higher on an added value 10,000 times smaller.
    first = mon.server.post(
        "/v1/evaluations", json={**day, "addedValue": "2000", "ruleset": "zj-huzhou-2021"}
    )
    assert first.status_code == 201, first.text
    restated = {
        "evaluation": first.json()["identifier"],
        "reason": "corrected_data",
        "note": "restated",
    }
    body = {**day, "addedValue": "0.2", "ruleset": "zj-huzhou-2021", "supersedes": restated}
    second = mon.server.post("/v1/evaluations", json=body)
    assert second.status_code == 201, second.text
    grades = (first.json()["grade"], second.json()["grade"])
    assert grades[1] > grades[0]  # the inputs were chosen for it: grade numbers grow worse
    mon.round()
    told = {r.payload["type"]: r.payload["data"] for r in mon.receiver.at("/grade-reg")}
    assert told["evaluation.grade_worsened"]["previousGrade"] == grades[0]
    assert told["evaluation.grade_worsened"]["grade"] == grades[1]
    assert told["evaluation.superseded"]["superseded"] == first.json()["identifier"]


def test_an_hour_over_the_ceiling_sums_its_readings(mon: Mon) -> None:
    ent, src = "88.118.8/ENT-MON-HOUR", "88.118.8/SRC-MON-HOUR"
    terminal = mon.enterprise(ent, [src])
    mon.rule(ent, "energy_threshold", {"per": "hour", "limitTce": "0.5"})
    domain = mon.server.ledger_client().domain()
    half = 1_800  # half-hour readings of 1,000 kWh: 0.3007 tce each, 0.6014 tce an hour
    readings = [reading(terminal, ent, src, s, quantity=10_000, step=half) for s in (2, 3)]
    mon.submit([terminal.sign(domain, r) for r in readings])
    mon.round()
    [alert] = mon.alerts(ent)
    assert Decimal(alert["figures"]["hourTce"]) == 2 * tce(Decimal(1000)) > Decimal("0.5")
    assert alert["figures"]["hourStart"] == PERIOD_START + HOUR
    below = reading(terminal, ent, src, 4, quantity=10_000, step=half)  # the next hour: 0.3007
    mon.submit([terminal.sign(domain, below)])
    mon.round()
    assert mon.alert(alert["id"])["state"] == "resolved"
