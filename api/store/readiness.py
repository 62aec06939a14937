"""Whether a database is there and ready to serve, and, when it is not, the command that makes it so.

A newcomer's database is missing a step more often than it is down: no file yet, no tables,
no PostgreSQL database of that name, no dataset. Waiting will not mend any of these, so they
are told apart from a database that is down (the drivers' error texts are all there is to
tell them by) and each is answered with the command to run.
"""

import re

from peewee import DatabaseError, InterfaceError
from playhouse.db_url import parse

from api.store import models as m
from api.store.urls import POSTGRES_SCHEMES, is_sqlite_url, redacted, scheme_of, sqlite_file

MIGRATE_THEN_LOAD = "run `civicfacts migrate`, then `civicfacts load`"
NO_DATASET = "no dataset loaded: run `civicfacts load`"
MISSING_POSTGRES_DATABASE = re.compile(r'database "([^"]+)" does not exist')


def missing_step(error, url):
    """What the database at `url` lacks, as a sentence that names the command to run, for an
    error a connection or a query raised; None for any other failure (a server that is down,
    a lock, a timeout), which may well pass."""
    text = str(error)
    if is_sqlite_url(url) and "unable to open database file" in text:
        path = sqlite_file(url)
        if path is not None and not path.exists():
            return f"There is no database at {_shown(path)} yet: {MIGRATE_THEN_LOAD}."
        return None
    if "no such table" in text or ('relation "' in text and "does not exist" in text):
        return f"The database {redacted(url)} lacks its tables: {MIGRATE_THEN_LOAD}."
    if "no such column" in text or ('column "' in text and "does not exist" in text):
        return f"The database {redacted(url)} lacks a migration: run `civicfacts migrate`."
    missing = MISSING_POSTGRES_DATABASE.search(text)
    if missing:
        return f"The PostgreSQL database {missing.group(1)} does not exist yet: {MIGRATE_THEN_LOAD} (migrate creates it)."
    return None


def _shown(path):
    """The path made absolute, or as given when it cannot be: a relative one whose folder, the
    server's working directory, was removed while it ran (resolving it would raise)."""
    try:
        return path.resolve()
    except OSError:
        return f"{path} (in a working directory that no longer exists)"


def is_missing_postgres_database(error):
    return MISSING_POSTGRES_DATABASE.search(str(error)) is not None


def connection_problem(error, url):
    """Why the database at `url` cannot be used, in one line that says what to do."""
    step = missing_step(error, url)
    if step:
        return step
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    reason = reason.rpartition(" failed: ")[2] or reason  # psycopg: "connection to server at ... failed: Connection refused"
    return f"cannot use the database {redacted(url)}: {reason}; is its server running? (--database or DATABASE_URL chooses another)"


def create_postgres_database(url):
    """Create the database a postgresql:// `url` names on its server, connecting to the
    server's `postgres` database to do it; False if it was there already."""
    import psycopg
    from psycopg import sql

    name = parse(url)["database"]
    with psycopg.connect(url, dbname="postgres", autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def is_postgres_url(url):
    return scheme_of(url) in POSTGRES_SCHEMES


def loaded_dataset(database, url):
    """(the last Dataset row or None, None), or (None, what to run) when the database is not
    ready, or (None, why it cannot be read) when it is down."""
    try:
        with database.connection_context(), database.bind_ctx([m.Dataset]):
            return m.Dataset.select().order_by(m.Dataset.id.desc()).first(), None
    except (DatabaseError, InterfaceError) as exc:
        return None, missing_step(exc, url) or connection_problem(exc, url)
