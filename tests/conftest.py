"""Fixtures: a database per backend, migrated and loaded with the real seeds, and a client.

Every test that takes `database_url` runs on SQLite and, when TEST_DATABASE_URL names a
PostgreSQL server, on PostgreSQL too. Each test session makes a database of its own on
that server (and drops it after), so runs on one machine never see each other's rows.
When TEST_DATABASE_URL is set but the server cannot be reached, the run fails: CI must
not pass by skipping PostgreSQL.
"""

import os
import pathlib
import uuid

import pytest

from api.db import bind, open_database

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
        return None
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


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """An empty database on each backend (a fresh SQLite file; a cleared PostgreSQL one)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/civicfacts.db"
    url = request.getfixturevalue("postgres_database")
    if url is None:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    empty_database(url)
    return url


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
    from api.seeds import read_seeds

    return read_seeds(SEEDS)


@pytest.fixture
def loaded(migrated, seed_set):
    """The migrated database with the real seeds loaded; yields its URL."""
    from api.db import db
    from api.load import load

    with db.obj.connection_context():
        load(seed_set, db.obj)
    return migrated
