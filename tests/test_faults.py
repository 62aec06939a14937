"""Faults in the database: the API answers 503 problem+json (not a 500, not a hang) while the
database is locked or gone, and recovers by itself when it is back.

PostgreSQL is stopped only in an instance this test starts itself (never the shared
server on port 5432)."""

import os
import pathlib
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time

import pytest

from api import create_app
from tests.conftest import SEEDS, migrate

PG_BIN = next(iter(sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin"))), None)


def get(client, path="/v1/figures?limit=5"):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def assert_unavailable(response, elapsed):
    assert response.status_code == 503, response.data
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"]
    assert "database" in response.get_json()["detail"].lower()
    assert elapsed < 10, f"took {elapsed:.1f}s: a fault must not hang the request"


def loaded_sqlite(tmp_path):
    from api.load import load
    from api.seeds import read_seeds

    url = f"sqlite:///{tmp_path}/faults.db"
    database = migrate(url)
    with database.connection_context():
        load(read_seeds(SEEDS), database)
    return url, tmp_path / "faults.db"


def test_a_locked_sqlite_database_is_503_then_recovers(tmp_path):
    url, path = loaded_sqlite(tmp_path)
    client = create_app({"DATABASE_URL": url}).test_client()
    assert client.get("/v1/figures?limit=5").status_code == 200

    locker = sqlite3.connect(path, timeout=0)
    locker.execute("PRAGMA locking_mode = EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        response, elapsed = get(client)
        assert_unavailable(response, elapsed)
    finally:
        locker.rollback()
        locker.close()
    assert client.get("/v1/figures?limit=5").status_code == 200


def test_a_missing_sqlite_database_is_503(tmp_path):
    client = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/absent.db"}).test_client()
    response, elapsed = get(client)
    assert_unavailable(response, elapsed)


def test_a_query_past_the_time_limit_is_cut_off(tmp_path, database_url, seed_set):
    from api.db import db
    from api.load import load

    database = migrate(database_url)
    with database.connection_context():
        load(seed_set, database)
    app = create_app({"DATABASE_URL": database_url, "QUERY_TIMEOUT_MS": 200})
    slow = "SELECT pg_sleep(3)" if database_url.startswith("postgres") else (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) SELECT count(*) FROM n"
    )
    # A route of this test only: no real route is slow enough on the seed data to show it.
    app.add_url_rule("/slow", "slow", lambda: str(db.execute_sql(slow).fetchone()))
    response, elapsed = get(app.test_client(), "/slow")
    assert response.status_code == 503, response.data
    assert response.mimetype == "application/problem+json"
    assert elapsed < 2.5
    assert app.test_client().get("/v1/figures?limit=5").status_code == 200


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(*command):
    """Run a PostgreSQL server binary as the postgres user (they refuse to run as root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + [str(c) for c in command], check=True, capture_output=True, text=True, timeout=60)


@pytest.fixture
def own_postgres():
    """A PostgreSQL server of this test's own, on a free port; yields (url, start, stop)."""
    if PG_BIN is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    if os.environ.get("TEST_DATABASE_URL") is None:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    root = pathlib.Path(tempfile.mkdtemp(prefix="civicfacts-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    as_postgres(PG_BIN / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"

    def start():
        as_postgres(PG_BIN / "pg_ctl", "-D", data, "-o", options, "-l", root / "log", "-w", "start")

    def stop():
        as_postgres(PG_BIN / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")

    start()
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", start, stop
    finally:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_a_stopped_postgres_is_503_then_recovers(own_postgres):
    from api.load import load
    from api.seeds import read_seeds

    url, start, stop = own_postgres
    database = migrate(url)
    with database.connection_context():
        load(read_seeds(SEEDS), database)
    client = create_app({"DATABASE_URL": url}).test_client()
    assert client.get("/v1/figures?limit=5").status_code == 200

    stop()
    for path in ("/v1", "/v1/figures?limit=5", "/v1/figures/kimjang-festival-2023-sales-amount", "/v1/search?q=김장"):
        response, elapsed = get(client, path)
        assert_unavailable(response, elapsed)

    start()
    deadline = time.monotonic() + 20
    while client.get("/v1/figures?limit=5").status_code != 200:
        assert time.monotonic() < deadline, "the API did not recover after PostgreSQL came back"
        time.sleep(0.2)
