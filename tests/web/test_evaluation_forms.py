"""The enterprise's evaluation forms over plain HTTP against a real server: a post needs a session
(else it goes to sign in) and the session's CSRF token (else 403); a refused evaluation shows
the form again with the code and field at fault and what was typed, a refused publication the
error page with its status and code. The browser journey is in test_public_pages.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LedgerServer

ENTERPRISE = "88.118.8/ENT-FORMS-WEB"
FORMS = ("/portal/evaluate", "/portal/publication")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _csrf(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


@pytest.fixture(scope="module")
def portal(web_ledger: LedgerServer) -> Iterator[tuple[httpx.Client, str]]:
    """The enterprise's browser, signed in, and its session's CSRF token."""
    body = {"identifier": ENTERPRISE, "name": "forms smelter", "industry": "aluminium"}
    registered = web_ledger.post("/v1/enterprises", json=body)
    assert registered.status_code == 201, registered.text
    principal = {"name": "forms-smelter", "role": "enterprise", "enterprise": ENTERPRISE}
    created = web_ledger.post("/v1/principals", json=principal)
    assert created.status_code == 201, created.text
    with httpx.Client(base_url=web_ledger.base_url) as browser:
        form = {"api_key": created.json()["key"]["token"], "csrf": _csrf(browser.get("/sign-in"))}
        signed_in = browser.post("/sign-in", data=form)
        assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/portal")
        yield browser, _csrf(browser.get("/portal/evaluate"))


@pytest.mark.parametrize("path", FORMS)
def test_a_post_without_a_session_goes_to_sign_in(web_ledger: LedgerServer, path: str) -> None:
    with httpx.Client(base_url=web_ledger.base_url) as stranger:
        answer = stranger.post(path, data={"csrf": "any"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/sign-in")


@pytest.mark.parametrize("path", FORMS)
def test_a_post_without_the_sessions_token_is_refused(
    portal: tuple[httpx.Client, str], path: str
) -> None:
    browser, _ = portal
    answer = browser.post(path, data={"csrf": "not-the-token", "action": "publish"})
    assert answer.status_code == 403 and 'data-code="csrf_failed"' in answer.text


def test_a_refused_evaluation_shows_the_form_again_with_what_is_wrong(
    portal: tuple[httpx.Client, str],
) -> None:
    browser, csrf = portal
    form = {"csrf": csrf, "periodStart": "2025-06-30", "periodEnd": "2025-06-01"}
    answer = browser.post("/portal/evaluate", data={**form, "addedValue": "10"})
    assert answer.status_code == 422
    assert 'data-code="period_reversed" data-field="periodEnd"' in answer.text
    assert 'value="2025-06-30"' in answer.text and 'value="10"' in answer.text


def test_a_refused_publication_shows_the_error_page(portal: tuple[httpx.Client, str]) -> None:
    browser, csrf = portal
    form = {"csrf": csrf, "evaluation": "88.118.8/CL-EVAL-NONE", "action": "unpublish"}
    answer = browser.post("/portal/publication", data=form)
    assert answer.status_code == 422 and 'data-code="invalid_publication"' in answer.text
