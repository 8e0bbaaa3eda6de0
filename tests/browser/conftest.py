"""Browser fixtures: the machine's chromium driven by playwright (playwright's own browser download does not work here).

The tests skip, with the reason, only when chromium is missing AND ORDERTRAIL_REQUIRE_BROWSER is unset; `make test`
(and so CI) sets it and installs chromium first (infra/local/install_chromium.sh), so there a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Response, sync_playwright

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# Headless flags that keep chromium from reaching out (updates, sync, component downloads).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """The chromium to drive: $ORDERTRAIL_CHROMIUM, else chromium (or chromium-browser) on PATH."""
    return os.environ.get("ORDERTRAIL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def browser_required() -> bool:
    """Whether a missing browser is a failure rather than a skip (make test sets ORDERTRAIL_REQUIRE_BROWSER=1)."""
    return os.environ.get("ORDERTRAIL_REQUIRE_BROWSER", "").strip() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless chromium for the session."""
    path = chromium_path()
    if path is None:
        reason = "chromium is not installed (run infra/local/install_chromium.sh, or `make test` which does)"
        if browser_required():
            pytest.fail(f"{reason}; ORDERTRAIL_REQUIRE_BROWSER is set, so the browser tests may not skip", pytrace=False)
        pytest.skip(f"{reason}; set ORDERTRAIL_REQUIRE_BROWSER=1 to make this a failure")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class WatchedPage:
    """A page with everything that went wrong on it recorded: console errors, page errors, failed requests."""

    context: BrowserContext
    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every recorded problem, one line each."""
        return [*self.console_errors, *self.page_errors, *self.failed_requests]

    def screenshot(self, name: str) -> Path:
        """A full-page screenshot into tests/artifacts/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _watch(context: BrowserContext) -> WatchedPage:
    """Open a page in the context and record its problems."""
    watched = WatchedPage(context, context.new_page())

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.console_errors.append(f"console error: {message.text}")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            watched.failed_requests.append(f"{response.status} {response.request.method} {response.url}")

    def on_failed(request: Request) -> None:
        watched.failed_requests.append(f"failed {request.method} {request.url}: {request.failure}")

    watched.page.on("console", on_console)
    watched.page.on("pageerror", lambda error: watched.page_errors.append(f"page error: {error}"))
    watched.page.on("response", on_response)
    watched.page.on("requestfailed", on_failed)
    return watched


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., WatchedPage]]:
    """Open watched pages, each in a fresh context (keyword arguments go to new_context, e.g. extra_http_headers)."""
    contexts: list[BrowserContext] = []

    def opener(**context_options: Any) -> WatchedPage:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
        contexts.append(context)
        return _watch(context)

    yield opener
    for context in contexts:
        context.close()
