"""The API reference pages render in a real browser from the ledger's own origin alone: no
script, style sheet or font comes from a CDN."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page

from tests.conftest import LedgerServer


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _requests(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def _own(urls: list[str], origin: str) -> list[str]:
    """Requests that left the origin (data: and blob: URLs never leave the browser)."""
    return [u for u in urls if not u.startswith(("data:", "blob:")) and _origin(u) != origin]


def test_swagger_ui_lists_the_operations_from_our_origin_only(
    web_ledger: LedgerServer, page: Page
) -> None:
    seen = _requests(page)
    page.goto(web_ledger.base_url + "/docs")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 30
    assert page.get_by_text("/v1/activity-batches").first.is_visible()
    assert any(u.endswith("/static/vendor/swagger-ui/swagger-ui-bundle.js") for u in seen)
    assert any(u.endswith("/openapi.json") for u in seen)
    assert _own(seen, web_ledger.base_url) == []


def test_redoc_renders_from_our_origin_only(web_ledger: LedgerServer, page: Page) -> None:
    seen = _requests(page)
    page.goto(web_ledger.base_url + "/redoc")
    page.locator("[data-section-id]").first.wait_for()
    assert page.locator("[data-section-id]").count() > 30
    assert any(u.endswith("/static/vendor/redoc/redoc.standalone.js") for u in seen)
    assert _own(seen, web_ledger.base_url) == []
