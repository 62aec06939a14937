"""Fixtures: a database per backend, migrated and loaded with the real seeds, and a client.

Every test that takes `database_url` runs on SQLite and, when TEST_DATABASE_URL names a
PostgreSQL server, on PostgreSQL too. Each test session makes a database of its own on
that server (and drops it after), so runs on one machine never see each other's rows.
When TEST_DATABASE_URL is set but the server cannot be reached, the run fails: CI must
not pass by skipping PostgreSQL.
"""

import os
import pathlib
import threading
import uuid

import pytest

from api.store.db import bind, open_database

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
BACKENDS = ["sqlite", "postgres"]


def admin_connection(url):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


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


@pytest.fixture(scope="session")
def postgres_database(postgres_server_url):
    """A database of this session's own on the PostgreSQL server, or None."""
    if postgres_server_url is None:
        yield None
        return
    name = f"civicfacts_test_{uuid.uuid4().hex[:10]}"
    with admin_connection(postgres_server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_server_url.rpartition("/")
    yield f"{base}/{name}"
    with admin_connection(postgres_server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_database(url):
    """Drop every table in the database at `url`, so a test starts from nothing."""
    database = open_database(url)
    with database:
        tables = database.get_tables()
        if url.startswith("postgres"):
            for table in tables:
                database.execute_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        else:
            database.execute_sql("PRAGMA foreign_keys = OFF")
            for table in tables:
                database.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
    database.close()


def backend_database(request, directory):
    """An empty database on the backend `request.param` names: a fresh SQLite file in
    `directory`, or this session's PostgreSQL database, cleared."""
    if request.param == "sqlite":
        return f"sqlite:///{directory}/civicfacts.db"
    url = request.getfixturevalue("postgres_database")
    if url is None:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    empty_database(url)
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """An empty database on each backend (a fresh SQLite file; a cleared PostgreSQL one)."""
    return backend_database(request, tmp_path)


def migrate(url):
    from api.cli import migration_runner

    database = bind(url)
    with database:
        migration_runner(database).up()
    return database


@pytest.fixture
def migrated(database_url):
    """The migrated, still empty database; yields its URL."""
    database = migrate(database_url)
    yield database_url
    database.close()


@pytest.fixture(scope="session")
def seed_set():
    from api.ingest.read import read_seeds

    return read_seeds(SEEDS)


@pytest.fixture
def loaded(migrated, seed_set):
    """The migrated database with the real seeds loaded; yields its URL."""
    from api.ingest.load import load
    from api.store.db import db

    with db.obj.connection_context():
        load(seed_set, db.obj)
    return migrated


# --- the API ----------------------------------------------------------------------------

SPEC_PATH = ROOT / "openapi.yaml"
PROBLEM_JSON = "application/problem+json"


@pytest.fixture(scope="session")
def openapi():
    import json

    import yaml
    from openapi_core import Config, OpenAPI

    # openapi-core deserializes only the media types it knows by name: problem+json and ld+json are JSON,
    # the contract is also served as YAML, and the text types are UTF-8 text.
    def text(body):
        return body.decode("utf-8")

    deserializers = {PROBLEM_JSON: json.loads, "application/ld+json": json.loads, "application/yaml": yaml.safe_load}
    deserializers.update(dict.fromkeys(["text/csv", "text/html", "text/css", "text/javascript"], text))
    config = Config(extra_media_type_deserializers=deserializers)
    return OpenAPI.from_file_path(str(SPEC_PATH), config=config)


def check_response(openapi, response):
    """Every response a test receives must agree with openapi.yaml; every error is problem+json."""
    from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
    from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound, ServerNotFound

    request = response.request
    if response.status_code >= 400:
        assert response.mimetype == PROBLEM_JSON, f"{request.method} {request.full_path}: {response.status_code} is {response.mimetype}"
        body = response.get_json(force=True)
        assert body["status"] == response.status_code and body["detail"], body
    if request.method not in ("GET",):
        return  # HEAD and OPTIONS are answered by Flask for every GET route; the spec lists GETs
    try:
        openapi.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound, ServerNotFound):
        # ServerNotFound: a path template matches the URL's tail (the explorer's "/" matches any
        # trailing slash) but no server and path of the spec make the whole URL: outside it too.
        assert response.status_code in (404, 405), f"{request.full_path} answered {response.status_code} outside the spec"


class ValidatingClient:
    """A Flask test client whose every response is checked against the contract."""

    def __init__(self, client, openapi):
        self._client = client
        self._openapi = openapi

    def open(self, *args, **kwargs):
        response = self._client.open(*args, **kwargs)
        # Read the body now and release what produced it (an open file, a database cursor).
        response.get_data()
        response.close()
        check_response(self._openapi, response)
        return response

    def get(self, *args, **kwargs):
        return self.open(*args, method="GET", **kwargs)

    def head(self, *args, **kwargs):
        return self.open(*args, method="HEAD", **kwargs)

    def options(self, *args, **kwargs):
        return self.open(*args, method="OPTIONS", **kwargs)

    def post(self, *args, **kwargs):
        return self.open(*args, method="POST", **kwargs)

    def put(self, *args, **kwargs):
        return self.open(*args, method="PUT", **kwargs)

    def delete(self, *args, **kwargs):
        return self.open(*args, method="DELETE", **kwargs)


@pytest.fixture
def app(loaded):
    from api import create_app

    app = create_app({"DATABASE_URL": loaded, "TESTING": True})
    yield app
    from api.store.db import db

    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app, openapi):
    return ValidatingClient(app.test_client(), openapi)


@pytest.fixture
def client_for(loaded, openapi):
    """make(**config): a validating client of another app on the same loaded database, with
    `config` on top (another CURSOR_SECRET, say)."""
    from api import create_app

    def make(**config):
        return ValidatingClient(create_app({"DATABASE_URL": loaded, "TESTING": True, **config}).test_client(), openapi)

    return make


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
        if os.environ.get("CI"):
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


# --- the reliability report: docs/RELIABILITY.md, rewritten after a full run (tests/reliability.py)


def pytest_configure(config):
    from tests.reliability import ReportPlugin

    config.pluginmanager.register(ReportPlugin(), "civicfacts-reliability")
