"""Swagger UI at /api/docs in a real headless Chromium: it renders, and "Try it out" works.

An HTTP 200 for the page proves nothing (it said "Loading..." for ever when its script was
missing); only a browser running the page's scripts shows whether it works. Debian's chromium
package is driven through Playwright's Python package, which downloads no browser of its own.
"""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.http.conftest import local_only, serve
from tests.support.databases import in_ci
from tests.support.local_server import REPO_ROOT, Server

pytestmark = [pytest.mark.slow, local_only("the deployed stack does not serve /api/docs")]

# Generous upper bounds for the page to load and a request to come back; not timed asserts.
PAGE_TIMEOUT_MS = 60_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def chromium_executable() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        if in_ci():
            pytest.fail(message + " (CI=true: browser tests must run, not skip)", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("swagger_ui")
    server = serve(f"sqlite:///{workdir / 'learning_env.db'}", workdir)
    yield server
    assert server.stop(signal.SIGTERM) == 0


@pytest.fixture(scope="module")
def page(docs_server: Server) -> Iterator[Any]:
    executable = chromium_executable()
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            browser_page = browser.new_page()
            errors: list[str] = []
            browser_page.on("pageerror", lambda error: errors.append(str(error)))
            browser_page.goto(docs_server.base_url + "/api/docs", timeout=PAGE_TIMEOUT_MS)
            try:
                browser_page.wait_for_selector(".opblock [data-path]", timeout=PAGE_TIMEOUT_MS)
            except PlaywrightTimeoutError:
                pytest.fail(f"Swagger UI rendered no operation; the page's errors: {errors}")
            assert errors == []
            yield browser_page
        finally:
            browser.close()


def documented_operations() -> set[tuple[str, str]]:
    document = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_every_documented_operation_renders(page: Any) -> None:
    rendered = page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent.trim(),
            block.querySelector('[data-path]').getAttribute('data-path'),
        ])""",
    )

    assert {tuple(operation) for operation in rendered} == documented_operations()
    # The five operations of the spec, whatever the aliases without the slash.
    assert {path for _, path in rendered} >= {"/api/sessions/", "/api/sessions/{id}"}
    assert len(rendered) >= 5


def test_try_it_out_on_the_list_answers_200(page: Any) -> None:
    operation = page.locator(".opblock-get:has([data-path='/api/sessions/'])")
    operation.locator(".opblock-summary").first.click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()

    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for(timeout=PAGE_TIMEOUT_MS)
    assert status.inner_text().strip() == "200"
    body = json.loads(operation.locator(".live-responses-table .response-col_description pre").first.inner_text())
    assert set(body) == {"data", "next_cursor"}


def test_assets_are_served_locally(docs_server: Server) -> None:
    page_html = docs_server.request("GET", "/api/docs").body.decode()

    assert "src='/api/docs/swagger-ui-bundle.min.js'" in page_html
    assert "href='/api/docs/swagger-ui.min.css'" in page_html
    script = docs_server.request("GET", "/api/docs/swagger-ui-bundle.min.js")
    assert script.status == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in script.body
    assert docs_server.request("GET", "/api/docs/swagger-ui.min.css").headers["Content-Type"].startswith("text/css")
    assert docs_server.request("GET", "/api/docs?format=json").json() == json.loads(
        (Path(REPO_ROOT) / "docs" / "openapi.json").read_text()
    )
