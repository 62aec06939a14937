"""What tests share besides fixtures: paths, databases made and emptied, and a test client that
checks every response against the contract. conftest.py holds the fixtures built on these."""

import contextlib
import json
import os
import pathlib
import shutil
import socket
import time
import uuid

from playhouse.test_utils import count_queries

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SPEC_PATH = ROOT / "openapi.yaml"
BACKENDS = ["sqlite", "postgres"]
PROBLEM_JSON = "application/problem+json"


# --- databases ------------------------------------------------------------------------------


def admin_connection(url):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def postgres_url(server_url, name):
    """The URL of database `name` on the server of `server_url`."""
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


def create_postgres_database(server_url, template=None, prefix="civicfacts_test"):
    """A new database on the server (a copy of `template`, a database name, if given); its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin_connection(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return postgres_url(server_url, name)


def drop_postgres_database(server_url, url):
    name = url.rpartition("/")[2]
    with admin_connection(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_database(url):
    """Drop every table in the database at `url`, so a test starts from nothing."""
    from api.store.db import open_database

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


def migrate(url):
    """Apply the migrations to the database at `url`; the shared proxy is left bound to it."""
    from api.cli import migration_runner
    from api.store.db import bind

    database = bind(url)
    with database:
        migration_runner(database).up()
    return database


def load_seeds(url, seed_set):
    """Migrate the database at `url` and load `seed_set` into it."""
    from api.ingest.load import load

    database = migrate(url)
    with database.connection_context():
        load(seed_set, database)
    if not url.startswith("postgres"):
        with database.connection_context():
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # the file alone holds it all: it can be copied
    database.close()
    return url


def recompile(url):
    """Compile again what the API serves from the rows of the database at `url`, as a load would
    after writing them: for a test that changed the rows behind the loader's back."""
    from api.ingest.compile import compile_all
    from api.registry import RECORD_TYPES
    from api.store import models as m
    from api.store.db import open_database

    database = open_database(url)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context(), database.atomic():
        compile_all(database, m.Dataset.select().order_by(m.Dataset.id.desc()).get(), RECORD_TYPES)
    database.close()


def sqlite_path(url):
    return pathlib.Path(url.removeprefix("sqlite:///"))


def copy_sqlite(template_url, directory):
    """A copy of the (checkpointed) SQLite database at `template_url` in `directory`; its URL."""
    target = pathlib.Path(directory) / "civicfacts.db"
    shutil.copyfile(sqlite_path(template_url), target)
    return f"sqlite:///{target}"


# --- the app ---------------------------------------------------------------------------------


def make_app(url, **config):
    """The app on the database at `url`, as tests run it."""
    from api import create_app

    return create_app({"DATABASE_URL": url, "TESTING": True, **config})


def close_app(app):
    """Close the app's connections (a pool's, all of them)."""
    from playhouse.pool import PooledDatabase

    database = app.extensions["civicfacts_database"]
    database.close_all() if isinstance(database, PooledDatabase) else database.close()


# --- the contract ---------------------------------------------------------------------------


def openapi_spec():
    import yaml
    from openapi_core import Config, OpenAPI

    # openapi-core deserializes only the media types it knows by name: problem+json and ld+json are JSON,
    # the contract is also served as YAML, and the text types are UTF-8 text.
    def text(body):
        return body.decode("utf-8")

    deserializers = {PROBLEM_JSON: json.loads, "application/ld+json": json.loads, "application/yaml": yaml.safe_load}
    deserializers.update(dict.fromkeys(["text/csv", "text/html", "text/css", "text/javascript"], text))
    config = Config(extra_media_type_deserializers=deserializers)
    return OpenAPI.from_dict(site_spec(), config=config)


def site_spec():
    """openapi.yaml (test_contract.py proves it is what the code generates) with the explorer's
    and the docs' HTML routes, which the API's contract leaves out: every response a test gets,
    HTML or not, is checked against a description of it."""
    from api import create_app
    from api.web.openapi import site_spec_dict

    return site_spec_dict(create_app({"DATABASE_URL": "sqlite:///:memory:"}))


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
    if response.status_code == 308 and request.path.endswith("/"):
        # A route's path with a trailing slash, redirected to the route (api/web/responses.py):
        # outside the spec, which has no path ending in a slash.
        assert response.headers["Location"].split("?")[0] == request.path.rstrip("/"), response.headers["Location"]
        return
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
        self.application = client.application

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


def in_ci():
    """CI (.ci/run sets CI) must fail, not skip, what it cannot run."""
    return bool(os.environ.get("CI"))


@contextlib.contextmanager
def request_queries(client):
    """count_queries() for what the app's requests cost. On PostgreSQL the replication guard
    looks at the replica's lag at most once a second, in whichever request comes then
    (api/web/replication.py): marked as seen just now, so that no counted request pays for it.
    Likewise the response cache reads the dataset's version before a process's first request,
    whatever its URL (api/web/response_cache.py, `cannot_hit`): read here, before counting."""
    _replica_lag_just_checked(client.application)
    _version_seen(client.application)
    with count_queries() as counter:
        yield counter


def _version_seen(app):
    from api.web.response_cache import CachingMiddleware

    layer = app.wsgi_app
    while layer is not None and not isinstance(layer, CachingMiddleware):
        layer = getattr(layer, "app", None)
    if layer is not None and layer.latest is None:
        layer.current_version()


def _replica_lag_just_checked(app):
    monitor = app.extensions.get("civicfacts_replication")
    if monitor is not None:
        monitor.checked_at = time.monotonic()


class _SpiedCursor:
    def __init__(self, cursor, sent):
        self._cursor, self._sent = cursor, sent

    def execute(self, sql, *args):
        self._sent.append(sql)
        return self._cursor.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


@contextlib.contextmanager
def sent_statements(app):
    """Every SQL string the app sends its database, BEGIN and COMMIT included (count_queries
    sees only what goes through execute_sql), one per round trip: yields the list it fills."""
    database = app.extensions["civicfacts_database"]
    _replica_lag_just_checked(app)
    sent, cursor = [], database.cursor
    database.cursor = lambda *args, **kwargs: _SpiedCursor(cursor(*args, **kwargs), sent)
    try:
        yield sent
    finally:
        del database.cursor


def wait_until_listening(process, port, what, timeout=30):
    """Wait until `process` (a server started by a test) accepts connections on `port`; fail
    naming `what` if it exits first (with what it wrote to a piped stderr) or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None:
                raise AssertionError(f"{what} exited: {process.stderr.read().decode() if process.stderr else ''}") from None
            assert time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.1)
