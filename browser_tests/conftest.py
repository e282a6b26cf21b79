"""
A real headless browser for the page tests: Debian's chromium, driven by Playwright's
sync API (its own event loop, which is why these tests run in their own pytest
invocation; see the Makefile). Playwright's own browser download is never used.
"""

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from testing import services

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Page loads and expectations get 10 s: under parallel test workers on 2 cores a
# cold page (the API docs) can take longer than Playwright's 5 s default.
expect.set_options(timeout=10_000)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    services.require(path is not None, "chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator:
    """Factory: new_page() opens a page in a fresh browser context (its own cookies)."""
    contexts = []

    def make(**context_options) -> Page:
        context = browser.new_context(**context_options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Page, base_url: str, email: str, password: str, next_url: str = "/") -> None:
    """Sign in through the admin login form, as a person would."""
    page.goto(f"{base_url}/admin/login/?next={next_url}")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}{next_url}")
