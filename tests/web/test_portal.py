"""Each user's main journey through the portal in a real browser against a real server: sign
in with an API key, see the role's page, follow a link, sign out; the session cookie's flags,
CSRF refusals, and the key kept out of pages and logs."""

from __future__ import annotations

import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from devtools.demo_portal import PortalUser, issue_portal_keys
from devtools.seeding import revoke
from ledger_api.commands.serve import build_worker
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.helpers import anchored_hours

ENTERPRISE = "88.118.8/ENT-AL-WEB"
GRID = "88.118.8/SRC-AL-WEB-GRID"
JUNE_2025_CST = 1_748_707_200  # 2025-06-01T00:00:00+08:00
HOURS = 61 * 24  # June and July
SESSION = "cl_session"
_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Users:
    ledger: LedgerServer
    financier: str
    regulator: str
    enterprise: str
    enterprise_key_id: str


def _principal(ledger: LedgerServer, name: str, role: str, **extra: str) -> dict:
    answer = ledger.post("/v1/principals", json={"name": name, "role": role, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()["key"]


def _evaluate(ledger: LedgerServer, start: str, end: str, added_value: str) -> None:
    body = {
        "enterprise": ENTERPRISE,
        "periodStart": start,
        "periodEnd": end,
        "addedValue": added_value,
        "ruleset": "zj-huzhou-2021",
    }
    answer = ledger.post("/v1/evaluations", json=body)
    assert answer.status_code == 201, answer.text


@pytest.fixture(scope="module")
def users(web_ledger: LedgerServer) -> Users:
    """A smelter with two anchored monthly evaluations (grade 2, then a worse one), a bank it
    granted access to, a regulator, and the smelter's own key."""
    anchored_hours(web_ledger, ENTERPRISE, GRID, "aluminium", JUNE_2025_CST, HOURS, 10_000)
    _evaluate(web_ledger, "2025-06-01", "2025-06-30", "200")
    _evaluate(web_ledger, "2025-07-01", "2025-07-31", "60")
    build_worker(web_ledger.settings()).run_once()
    bank = _principal(web_ledger, "web-bank", "financier")
    grant = {"grantee": "web-bank", "purpose": "green loan"}
    granted = web_ledger.post(f"/v1/enterprises/{ENTERPRISE}/grants", json=grant)
    assert granted.status_code == 201, granted.text
    regulator = _principal(web_ledger, "web-regulator", "regulator")
    smelter = _principal(web_ledger, "web-smelter", "enterprise", enterprise=ENTERPRISE)
    return Users(web_ledger, bank["token"], regulator["token"], smelter["token"], smelter["keyId"])


def sign_in(page: Page, base_url: str, key: str, label: str = "API key") -> None:
    page.goto(base_url + "/sign-in")
    page.get_by_label(label).fill(key)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base_url + "/portal")


def sign_out(page: Page, base_url: str) -> None:
    page.locator("header form button[type=submit]").click()
    page.wait_for_url(base_url + "/")
    page.goto(base_url + "/portal")
    assert page.url == base_url + "/sign-in"  # the session is over


def session_cookie(context: BrowserContext) -> dict:
    (cookie,) = [c for c in context.cookies() if c["name"] == SESSION]
    return cookie


def test_landing_page_in_both_languages(
    web_ledger: LedgerServer, page: Page, screenshot: Callable[[str], list[Path]]
) -> None:
    response = page.goto(web_ledger.base_url + "/?lang=zh")
    assert response is not None
    assert "script-src 'self';" in response.headers["content-security-policy"]
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "碳账本"
    screenshot("landing-zh")
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Carbon ledger"
    page.goto(web_ledger.base_url + "/")  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "en"
    screenshot("landing-en")


def test_financier_portfolio_profile_proofs_and_sign_out(
    users: Users, page: Page, screenshot: Callable[[str], list[Path]]
) -> None:
    base = users.ledger.base_url
    sign_in(page, base, users.financier)
    cookie = session_cookie(page.context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["secure"]  # plain http here; Secure whenever the ledger is on https
    assert time.time() < cookie["expires"] <= time.time() + 8 * 3600 + 60
    assert users.financier not in page.content()

    row = page.locator("table.portfolio tbody tr")
    assert row.count() == 1 and ENTERPRISE in row.inner_text()
    page.get_by_role("link", name="Grade", exact=True).click()  # sort by grade
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("Grade")
    screenshot("financier-portfolio")
    csv = page.request.get(base + page.locator("a.csv").get_attribute("href"))
    assert csv.headers["content-type"].startswith("text/csv") and ENTERPRISE in csv.text()

    page.get_by_role("link", name=ENTERPRISE).click()
    page.locator("#chart-totals svg").wait_for()
    page.locator("#chart-grades svg").wait_for()
    assert "3,863.520" in page.locator("table.ratings").inner_text()  # June, with separators
    proof = page.request.get(base + page.locator("a.proof-total").first.get_attribute("href"))
    assert proof.ok and proof.json()["figure"]["path"] == "total"
    assert proof.json()["figure"]["value"] == "3863.520"
    screenshot("financier-profile")

    old = session_cookie(page.context)["value"]
    sign_out(page, base)
    # The server ended the session: the old cookie, replayed, opens nothing.
    replay = page.request.get(
        base + "/portal", headers={"Cookie": f"{SESSION}={old}"}, max_redirects=0
    )
    assert replay.status == 303 and replay.headers["location"] == "/sign-in"


def test_regulator_overview_low_grades_and_withheld_cells(
    users: Users, page: Page, screenshot: Callable[[str], list[Path]]
) -> None:
    base = users.ledger.base_url
    sign_in(page, base, users.regulator)
    assert page.locator("h1").inner_text() == "Overview"
    low = page.locator("ul.low li")
    assert low.count() == 1 and ENTERPRISE in low.inner_text()
    # One aluminium smelter: its industry's and region's sums would be its own figures.
    assert page.locator("td.withheld").count() == 2
    screenshot("regulator-overview")
    low.get_by_role("link").click()
    assert page.locator("h1").inner_text() == ENTERPRISE  # registered under its identifier
    sign_out(page, base)


# Two Zhejiang smelters in two cities (GB/T 2260: 330502 Huzhou Wuxing, 330106 Hangzhou Xihu).
ZHEJIANG = (
    ("88.118.8/ENT-AL-WEB-HZ", "88.118.8/SRC-AL-WEB-HZ-GRID", "330502"),
    ("88.118.8/ENT-AL-WEB-HANGZHOU", "88.118.8/SRC-AL-WEB-HANGZHOU-GRID", "330106"),
)


def _zhejiang(ledger: LedgerServer) -> list[str]:
    """The two smelters, a day of readings each, evaluated; the second's terminal revoked.
    Returns their terminals."""
    terminals = []
    for enterprise, source, region in ZHEJIANG:
        anchored_hours(ledger, enterprise, source, "aluminium", JUNE_2025_CST, 24, 1_000, region)
        body = {"enterprise": enterprise, "periodStart": "2025-06-01", "periodEnd": "2025-06-01"}
        body["addedValue"] = "10"
        answer = ledger.post("/v1/evaluations", json=body)
        assert answer.status_code == 201, answer.text
        terminals.append(answer.json()["entry"]["records"]["devices"][0]["device"])
    assert revoke(ledger.server, ZHEJIANG[1][0], terminals[1], 25).status_code == 201
    return terminals


def test_regulator_drills_from_province_to_city_and_sees_data_quality(
    users: Users, page: Page, screenshot: Callable[[str], list[Path]]
) -> None:
    """Regions are shown by province, a province by city; the data-quality view names the
    silent terminal (its last reading is a year old) and the revoked one."""
    terminals = _zhejiang(users.ledger)
    base = users.ledger.base_url
    sign_in(page, base, users.regulator)
    page.locator("a[data-province='33']").click()
    page.wait_for_selector("a[data-role='all-provinces']")
    cities = page.locator("table th[scope='row']").all_inner_texts()
    assert "330500" in cities and "330100" in cities  # Huzhou and Hangzhou
    screenshot("regulator-cities")
    page.locator("a[href='/portal/data-quality']").click()
    silent = page.locator(f"tr[data-device='{terminals[0]}']")
    assert silent.locator("[data-issue='silent']").count() == 1
    revoked = page.locator(f"tr[data-device='{terminals[1]}']")
    assert revoked.locator("[data-issue='revoked']").count() == 1
    assert revoked.locator("[data-issue='silent']").count() == 0  # revoked: not expected to report
    screenshot("regulator-data-quality")
    sign_out(page, base)


def test_enterprise_sees_its_terminals_reads_its_report_and_a_revoked_key_ends_it(
    users: Users, page: Page, screenshot: Callable[[str], list[Path]]
) -> None:
    base = users.ledger.base_url
    page.goto(base + "/?lang=zh")
    sign_in(page, base, users.enterprise, "API 密钥")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    terminal = page.locator("table.terminals tbody tr")
    assert terminal.count() == 1
    cells = terminal.locator("td").all_inner_texts()
    assert cells[2] == "在用" and cells[3] == "1,465" and cells[5] == "0"
    assert cells[4] == "2025-08-01 01:00 UTC+8"  # the reading after the period ends then
    assert "web-bank" in page.locator("main").inner_text()  # the grant
    screenshot("enterprise-home")
    page.locator("a.report").first.click()
    assert "碳效评价报告" in page.content()
    page.go_back()

    revoked = users.ledger.post(f"/v1/keys/{users.enterprise_key_id}/revoke")
    assert revoked.status_code == 200, revoked.text
    page.goto(base + "/portal")
    assert page.url == base + "/sign-in"  # a revoked key's session is over too


def test_forms_without_their_csrf_token_are_refused(users: Users, page: Page) -> None:
    base = users.ledger.base_url
    forged = page.request.post(base + "/sign-in", form={"api_key": users.financier})
    assert forged.status == 403 and 'data-code="csrf_failed"' in forged.text()
    assert not [c for c in page.context.cookies() if c["name"] == SESSION]

    sign_in(page, base, users.financier)
    forged = page.request.post(base + "/sign-out", form={"csrf": "not-the-token"})
    assert forged.status == 403 and 'data-code="csrf_failed"' in forged.text()
    assert page.request.get(base + "/portal", max_redirects=0).status == 200  # still signed in
    sign_out(page, base)


def test_wrong_and_terminal_keys_are_refused_by_keyboard_alone(
    users: Users, browser: Browser
) -> None:
    # A context of its own: the browser logs the expected 401 as a console error.
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(users.ledger.base_url + "/sign-in")
        page.get_by_label("API key").focus()
        page.keyboard.type("cl_0123456789abcdef_" + "A" * 43)
        with page.expect_response(users.ledger.base_url + "/sign-in") as answer:
            page.keyboard.press("Enter")
        assert answer.value.status == 401
        assert (
            page.get_by_role("alert").inner_text() == "That key is not a live key of this ledger."
        )
        assert not [c for c in context.cookies() if c["name"] == SESSION]

        gateway = _principal(users.ledger, "web-gateway", "terminal", enterprise=ENTERPRISE)
        page.get_by_label("API key").fill(gateway["token"])
        with page.expect_response(users.ledger.base_url + "/sign-in") as answer:
            page.get_by_label("API key").press("Enter")
        assert answer.value.status == 403  # terminal keys submit records; no portal for them
        assert not [c for c in context.cookies() if c["name"] == SESSION]
    finally:
        context.close()


def test_keys_never_reach_the_log(users: Users) -> None:
    log = (users.ledger.data_dir / "server.log").read_text()
    for key in (users.financier, users.regulator, users.enterprise):
        assert key.split("_", 2)[2] not in log  # the secret part of cl_<key id>_<secret>


def test_demo_portal_keys_are_private_files_and_one_per_user(users: Users) -> None:
    ledger = users.ledger
    demo_users = [PortalUser("web-demo-bank", "financier")]
    settings = ledger.settings()
    issue_portal_keys(settings, ledger.server, demo_users)
    path = settings.data_dir / "portal-keys" / "web-demo-bank.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text().strip()
    assert ledger.get("/v1/portfolio", first).status_code == 200

    issue_portal_keys(settings, ledger.server, demo_users)  # the demo's second run
    second = path.read_text().strip()
    assert second != first and ledger.get("/v1/portfolio", second).status_code == 200
    assert ledger.get("/v1/portfolio", first).status_code == 401  # the old key is revoked


def test_the_sign_in_form_takes_no_json_and_no_large_body(web_ledger: LedgerServer) -> None:
    """The JSON guard's opening for the portal's forms is url-encoded bodies of a few KB only."""
    with httpx.Client(base_url=web_ledger.base_url, timeout=30) as http:
        hostile = http.post("/sign-in", content=b"[" * 200_000, headers=_JSON)
        assert hostile.status_code == 401 and hostile.json()["error"]["code"] == "unauthenticated"
        large = http.post("/sign-in", data={"api_key": "x" * 10_000, "csrf": "y"})
        assert large.status_code == 413 and large.json()["error"]["code"] == "form_too_large"
