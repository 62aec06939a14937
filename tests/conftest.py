"""Fixtures: databases on each backend, shared where tests only read, and the app and its client.

Every test that asks for a database runs on SQLite and, when TEST_DATABASE_URL names a
PostgreSQL server, on PostgreSQL too (the `backend` parameter). Each test session makes
databases of its own on that server (and drops them after), so runs on one machine never see
each other's rows. When TEST_DATABASE_URL is set but the server cannot be reached, the run
fails: CI must not pass by skipping PostgreSQL.

Loading the seeds is what a database costs, so it is done once a session per backend, into a
template (`seeded`), and the rest are copies of it:

- `app` and `client`: one app per module on `shared_url`, a loaded database no test writes to
  (the session fails if one does). What most tests want.
- `fresh_app`, `fresh_client`: an app of the test's own on that database, for a test that
  patches the app or watches its caches.
- `loaded`, `writable_app`, `writable_client`: a fresh copy of the template for one test, which
  it may change (a new dataset version, a row inserted, the file deleted).
- `database_url` and `migrated`: an empty, or just migrated, database for one test.
"""

import hashlib
import os
import threading

import pytest

from tests.support import (
    BACKENDS,
    ROOT,
    SEEDS,
    ValidatingClient,
    admin_connection,
    close_app,
    copy_sqlite,
    create_postgres_database,
    drop_postgres_database,
    empty_database,
    in_ci,
    load_seeds,
    make_app,
    migrate,
    openapi_spec,
    sqlite_path,
)

# --- backends and databases -----------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server_url():
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    try:
        with admin_connection(url):
            pass
    except Exception as exc:  # noqa: BLE001 - any failure to connect ends the run
        pytest.fail(f"TEST_DATABASE_URL={url} cannot be reached: {exc}", pytrace=False)
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    """sqlite, and postgres when TEST_DATABASE_URL is set (skipped otherwise)."""
    if request.param == "postgres" and request.getfixturevalue("postgres_server_url") is None:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    return request.param


@pytest.fixture(scope="session")
def postgres_database(postgres_server_url):
    """A database of this session's own on the PostgreSQL server (emptied by each test that
    takes `database_url`), or None."""
    if postgres_server_url is None:
        yield None
        return
    url = create_postgres_database(postgres_server_url)
    yield url
    drop_postgres_database(postgres_server_url, url)


@pytest.fixture(scope="session")
def seed_set():
    from api.ingest.read import read_seeds

    return read_seeds(SEEDS)


@pytest.fixture(scope="session")
def seeded(backend, seed_set, tmp_path_factory, request):
    """The template of this backend: migrated and loaded with the real seeds once a session."""
    if backend == "sqlite":
        yield load_seeds(f"sqlite:///{tmp_path_factory.mktemp('template')}/civicfacts.db", seed_set)
        return
    server = request.getfixturevalue("postgres_server_url")
    url = load_seeds(create_postgres_database(server, prefix="civicfacts_template"), seed_set)
    yield url
    drop_postgres_database(server, url)


def _fingerprint(url):
    if url.startswith("postgres"):
        return None  # PostgreSQL guards itself: the database refuses writes (see shared_url)
    return hashlib.sha256(sqlite_path(url).read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def shared_url(backend, seeded, tmp_path_factory, request):
    """A loaded database for the tests that only read, the same for all of them: a copy of the
    template, checked to be unchanged at the end (a test that writes must take `loaded`)."""
    if backend == "sqlite":
        url = copy_sqlite(seeded, tmp_path_factory.mktemp("shared"))
    else:
        server = request.getfixturevalue("postgres_server_url")
        url = create_postgres_database(server, template=seeded.rpartition("/")[2], prefix="civicfacts_shared")
        with admin_connection(server) as conn:
            conn.execute(f'ALTER DATABASE "{url.rpartition("/")[2]}" SET default_transaction_read_only = on')
    before = _fingerprint(url)
    yield url
    if before is not None:
        assert _fingerprint(url) == before, "a test wrote to the shared database: give it `loaded` or `writable_app`"
    if backend == "postgres":
        drop_postgres_database(request.getfixturevalue("postgres_server_url"), url)


@pytest.fixture
def database_url(backend, tmp_path, request):
    """An empty database on each backend (a fresh SQLite file; this session's PostgreSQL one, emptied)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/civicfacts.db"
    url = request.getfixturevalue("postgres_database")
    empty_database(url)
    return url


@pytest.fixture
def migrated(database_url):
    """The migrated, still empty database; yields its URL."""
    database = migrate(database_url)
    yield database_url
    database.close()


@pytest.fixture
def loaded(backend, seeded, tmp_path, request):
    """A loaded database of this test's own, which it may change: a copy of the template. The
    shared proxy is left bound to it, as after a load."""
    from api.store.db import bind

    if backend == "sqlite":
        url = copy_sqlite(seeded, tmp_path)
    else:
        server = request.getfixturevalue("postgres_server_url")
        url = create_postgres_database(server, template=seeded.rpartition("/")[2])
    database = bind(url)
    yield url
    database.close()
    if backend == "postgres":
        drop_postgres_database(request.getfixturevalue("postgres_server_url"), url)


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def openapi():
    return openapi_spec()


@pytest.fixture(scope="module")
def app(shared_url):
    """The app on the shared database: one per module and backend."""
    app = make_app(shared_url)
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def client(app, openapi):
    return ValidatingClient(app.test_client(), openapi)


@pytest.fixture
def fresh_app(shared_url):
    """An app of the test's own on the shared database, for a test that patches the app or
    watches its caches fill from empty."""
    app = make_app(shared_url)
    yield app
    close_app(app)


@pytest.fixture
def fresh_client(fresh_app, openapi):
    return ValidatingClient(fresh_app.test_client(), openapi)


@pytest.fixture
def client_for(shared_url, openapi):
    """make(**config): a validating client of another app on the shared database, with
    `config` on top (another CURSOR_SECRET, say)."""
    return lambda **config: ValidatingClient(make_app(shared_url, **config).test_client(), openapi)


@pytest.fixture
def writable_app(loaded):
    """The app on this test's own loaded database, for a test that changes it."""
    app = make_app(loaded)
    yield app
    close_app(app)


@pytest.fixture
def writable_client(writable_app, openapi):
    return ValidatingClient(writable_app.test_client(), openapi)


# --- a browser and a live server, for tests that drive a real page ---------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no browser is ever downloaded).

    Without /usr/bin/chromium the test is skipped on a developer's machine, but fails when
    CI is set (.ci/run sets it and installs chromium): CI must not pass by skipping.
    """
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def live_server():
    """serve(app) -> "http://127.0.0.1:<port>": the WSGI app served on a free loopback port
    from a thread (werkzeug), until the test ends."""
    from werkzeug.serving import make_server

    running = []

    def serve(wsgi_app):
        server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server, thread in running:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def artifacts():
    """artifacts/ at the repository root (gitignored): screenshots and such, for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- markers, the skip summary and the reliability report ------------------------------------


def pytest_collection_modifyitems(config, items):
    """Mark what the markers say by what a test takes: a PostgreSQL case `postgres`, a test
    that drives Chromium `browser` (the modules of fuzzing, the benchmark and the slow kinds
    mark themselves)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "postgres":
            item.add_marker(pytest.mark.postgres)
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One line for the skips, by reason, instead of one per test."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = {}
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    text = "; ".join(f"{n} because {reason}" for reason, n in sorted(reasons.items(), key=lambda pair: -pair[1]))
    terminalreporter.write_line(f"skipped {len(skipped)}: {text}", yellow=True)


def pytest_configure(config):
    from tests.reliability import ReportPlugin

    config.pluginmanager.register(ReportPlugin(), "civicfacts-reliability")
