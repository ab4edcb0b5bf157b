"""Browser fixtures: one Chromium per test session, a fresh page per test that fails the test on
any console error, screenshots at a laptop's and a phone's width, and one real ledger server
shared by the browser tests.

    def test_something(web_ledger, page, screenshot):
        page.goto(web_ledger.base_url + "/")
        screenshot("landing")      # test-artifacts/web/landing-1280.png and -390.png
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, Page
from web3 import Web3

from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.local_server import start_server
from tests.browser import ConsoleWatch, save_screenshots, shared_browser
from tests.conftest import LedgerServer, server_env


@pytest.fixture(scope="session")
def browser() -> Browser:
    return shared_browser()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a context of its own (no cookies shared between tests); the test fails when
    the page logged a console error or threw."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    watch = ConsoleWatch(opened)
    yield opened
    context.close()
    if watch.errors:
        pytest.fail("the page logged errors:\n" + "\n".join(watch.errors))


@pytest.fixture
def screenshot(page: Page) -> Callable[[str], list[Path]]:
    """Save the page as it is now at 1280 and 390 px wide under test-artifacts/web/."""
    return lambda name: save_screenshots(page, "web", name)


@pytest.fixture(scope="session")
def web_ledger(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LedgerServer]:
    """A real ``carbon-ledger serve`` shared by the browser tests (a server start costs seconds):
    each module seeds what it needs under names of its own."""
    data_dir = tmp_path_factory.mktemp("web-ledger")
    record, _ = deploy(w3, operator_account, data_dir / "deployments")
    server = start_server(data_dir, server_env(data_dir, dev_chain.rpc_url))
    yield LedgerServer(server.base_url, data_dir, server.env, record, server)
    server.stop()
