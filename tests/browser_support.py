"""What the explorer's browser tests need: Debian's chromium driven by Playwright, the app
served on a real socket, screenshots kept in artifacts/, and axe-core run in the page.

The fixtures are named for the explorer (`explorer_browser`, `explorer_server`) so they
sit beside the generic `browser` / `live_server` fixtures another branch adds to
conftest.py without clashing; the two can be unified once both are merged.
"""

import hashlib
import os
import pathlib
import re
import threading

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM = pathlib.Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "explorer"
AXE = pathlib.Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"  # as tests/vendor/axe-core/SOURCE.md records
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def explorer_browser():
    """Headless Debian chromium (never a downloaded browser). Missing, it skips the browser
    tests on a developer's machine, but fails them in CI, which installs it (.ci/run)."""
    if not CHROMIUM.exists():
        message = f"the explorer's browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def explorer_app(loaded, tmp_path):
    from api import create_app

    app = create_app({"DATABASE_URL": loaded, "TESTING": True, "DOWNLOADS_DIR": str(tmp_path / "downloads")})
    yield app
    from api.db import db

    if not db.is_closed():
        db.close()


@pytest.fixture
def explorer_server(explorer_app):
    """The app on 127.0.0.1 on a free port, one thread per request; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, explorer_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="explorer-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


class Visit:
    """A browser page on the explorer that remembers what went wrong on the way: console
    errors (a CSP violation is one) and failed requests."""

    def __init__(self, page, base_url, label):
        self.page = page
        self.base_url = base_url
        self.label = label
        self.problems = []
        page.on("console", lambda message: message.type == "error" and self.problems.append(f"console: {message.text}"))
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: self.problems.append(f"request failed: {request.url}"))
        page.on("response", lambda response: response.status >= 400 and self.problems.append(f"{response.status}: {response.url}"))

    def open(self, path):
        response = self.page.goto(self.base_url + path)
        assert response.status == 200, (path, response.status)
        return response

    def screenshot(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.label}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def axe(self):
        """axe-core's violations on the current page, as (rule, impact, [targets])."""
        results = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => [v.id, v.impact, v.nodes.map(n => n.target.join(' ')).slice(0, 5)])"
        )
        return [tuple(v) for v in results]


@pytest.fixture
def explorer_visit(explorer_browser, explorer_server, request):
    """visit(axe=False, **context options): a fresh browser context on the explorer, as a Visit.
    With axe=True, axe-core is injected as an init script: the browser adds it, not the page,
    so the pages' CSP (no script at all) stays in force and they are checked as served."""
    contexts = []

    def visit(axe=False, **options):
        options = {"locale": "ko-KR", "viewport": {"width": 1200, "height": 900}, "accept_downloads": True, **options}
        context = explorer_browser.new_context(**options)
        contexts.append(context)
        if axe:
            context.add_init_script(script=axe_source())
        page = context.new_page()
        page.set_default_timeout(15000)
        return Visit(page, explorer_server, label_for(request))

    yield visit
    for context in contexts:
        context.close()


def axe_source():
    body = AXE.read_bytes()
    assert hashlib.sha256(body).hexdigest() == AXE_SHA256, f"{AXE} is not the axe-core that SOURCE.md records"
    return body.decode("utf-8")


def label_for(request):
    """`sqlite` or `postgres` (the backend of this test), for artifact names."""
    match = re.search(r"\[(\w+)\]", request.node.name)
    return f"{request.node.originalname.removeprefix('test_')[:40]}-{match.group(1) if match else 'any'}"
