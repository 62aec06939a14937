"""What the explorer's browser tests need beyond conftest's `browser` and `live_server`:
the explorer app on a real socket, pages that record what went wrong, screenshots kept in
artifacts/explorer/, and axe-core run in the page.
"""

import hashlib
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "explorer"
AXE = pathlib.Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"  # as tests/vendor/axe-core/SOURCE.md records


@pytest.fixture
def explorer_app(shared_url, tmp_path):
    from api import create_app

    app = create_app({"DATABASE_URL": shared_url, "TESTING": True})
    yield app
    from api.store.db import db

    if not db.is_closed():
        db.close()


@pytest.fixture
def explorer_server(explorer_app, live_server):
    """The explorer on 127.0.0.1 on a free port; its base URL."""
    return live_server(explorer_app)


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
def explorer_visit(browser, explorer_server, request):
    """visit(axe=False, **context options): a fresh browser context on the explorer, as a Visit.
    With axe=True, axe-core is injected as an init script: the browser adds it, not the page,
    so the pages' CSP (no script at all) stays in force and they are checked as served."""
    contexts = []

    def visit(axe=False, **options):
        options = {"locale": "ko-KR", "viewport": {"width": 1200, "height": 900}, "accept_downloads": True, **options}
        context = browser.new_context(**options)
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
