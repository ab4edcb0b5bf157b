"""The browser of the tests: Debian's Chromium driven by Playwright.

Playwright cannot fetch its own browser builds here, so it launches the system ``chromium``
found on the PATH (``make test`` installs it with ``scripts/ensure-chromium.sh``). Without
one a browser test is skipped on a developer's machine and FAILS in CI (``CI=true``), so a
broken set-up can never pass as green.
"""

from __future__ import annotations

import atexit
import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

#: Screenshots land here (one folder per area), beside the tests' other outputs.
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
#: The two widths every page is looked at: a laptop and a phone.
WIDTHS = (1280, 390)


def chromium_executable() -> str:
    """The system Chromium; skip without one, but fail in CI."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "no chromium on the PATH: run scripts/ensure-chromium.sh"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=chromium_executable(),
        # No background traffic of the browser's own: a request listener sees only the page's.
        args=["--disable-background-networking", "--disable-component-update", "--no-first-run"],
    )


_running: tuple[Playwright, Browser] | None = None


def shared_browser() -> Browser:
    """One browser per test process: Playwright's synchronous driver runs once per thread, so
    every test that needs a browser (the web fixtures, the report's screenshot) shares it."""
    global _running
    if _running is None:
        playwright = sync_playwright().start()
        try:
            _running = (playwright, launch(playwright))
        except BaseException:
            playwright.stop()
            raise
        atexit.register(_stop)
    return _running[1]


def _stop() -> None:
    global _running
    if _running is not None:
        playwright, browser = _running
        _running = None
        browser.close()
        playwright.stop()


class ConsoleWatch:
    """Collects every console error and uncaught page error of a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} at {message.location}")


def save_screenshots(page: Page, area: str, name: str) -> list[Path]:
    """Full-page PNGs of ``page`` at each width, as ``test-artifacts/<area>/<name>-<w>.png``."""
    folder = ARTIFACTS / area
    folder.mkdir(parents=True, exist_ok=True)
    height = page.viewport_size["height"] if page.viewport_size else 800
    shots = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        path = folder / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)
    page.set_viewport_size({"width": WIDTHS[0], "height": height})
    return shots
