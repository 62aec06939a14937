"""The deferred database, the base model, and the time limit on queries.

`db` is a proxy bound at startup (`bind`) to SQLite or PostgreSQL. Serving connections are
read-only (SQLite opened with mode=ro, PostgreSQL with default_transaction_read_only), and a
query that runs past its time limit is cut off rather than left to hold a worker: PostgreSQL
enforces `statement_timeout` itself; on SQLite a progress handler interrupts the query once
the deadline set by `start_deadline` has passed (api/web/transactions.py sets one per request).
"""

import threading
import time

from peewee import DatabaseProxy, Model, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect, parse
from playhouse.pool import PooledDatabase

from api.store.fastpath import TrustingPostgresqlPool, WatchedSqlitePool
from api.store.urls import check_url

db = DatabaseProxy()

# WAL lets readers go on while a load writes; foreign keys are off by default in SQLite.
SQLITE_PRAGMAS = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}
# A serving connection must not wait long for a lock: 503 soon beats a hung worker.
SQLITE_READ_PRAGMAS = {"foreign_keys": 1, "busy_timeout": 2000, "query_only": 1}
POSTGRES_CONNECT_TIMEOUT = 3
# A pooled connection unused this long is closed rather than handed out again.
POOL_STALE_SECONDS = 300
POOL_WAIT_SECONDS = 5


def _pool_options(pool_size):
    # max_connections: at most this many at once per process (one per serving thread
    # suffices); a request past that waits up to POOL_WAIT_SECONDS for one to come back.
    return {"max_connections": pool_size, "stale_timeout": POOL_STALE_SECONDS, "timeout": POOL_WAIT_SECONDS}


def open_database(url, readonly=False, pool_size=0, statement_timeout_ms=0):
    """A peewee Database for `url` (sqlite:///path or postgresql://...).

    `readonly` opens SQLite with mode=ro (the file itself refuses writes) and PostgreSQL
    with default_transaction_read_only, so no request can write, and with
    `statement_timeout_ms` as every statement's limit: a query outside a request's own
    transaction (the response cache's check of the dataset version) must not wait for a
    lock for ever either. `pool_size` > 0 keeps up to that many connections open between
    requests (playhouse.pool): a SQLite connection reads the schema again each time it is
    opened and a PostgreSQL one costs a handshake, which would be most of the time a cached
    response takes. A URL it cannot open is refused first, saying what to write instead
    (api/store/urls.py).
    """
    check_url(url)
    if url.startswith("sqlite"):
        if not readonly:
            return connect(url, pragmas=SQLITE_PRAGMAS)
        path = parse(url)["database"]
        if path == ":memory:":
            return SqliteDatabase(path, pragmas=SQLITE_READ_PRAGMAS)
        if pool_size:
            # A pooled connection is handed to whichever thread asks next, never to two at once;
            # one opened on a file since replaced or deleted is never handed out (WatchedSqlitePool).
            return WatchedSqlitePool(
                f"file:{path}?mode=ro",
                path=path,
                uri=True,
                pragmas=SQLITE_READ_PRAGMAS,
                check_same_thread=False,
                **_pool_options(pool_size),
            )
        return SqliteDatabase(f"file:{path}?mode=ro", uri=True, pragmas=SQLITE_READ_PRAGMAS)
    options = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT}
    if readonly:
        options["options"] = "-c default_transaction_read_only=on"
        if statement_timeout_ms:
            options["options"] += f" -c statement_timeout={int(statement_timeout_ms)}"
        if pool_size:
            settings = parse(url)
            return TrustingPostgresqlPool(settings.pop("database"), **settings, **options, **_pool_options(pool_size))
    return connect(url, **options)


def bind(url, readonly=False, pool_size=0, statement_timeout_ms=0):
    """Point the shared proxy at the database named by `url` and return it."""
    database = open_database(url, readonly=readonly, pool_size=pool_size, statement_timeout_ms=statement_timeout_ms)
    use(database)
    return database


def use(database):
    """Point the shared proxy at `database` (an app's own, when several apps share a process)."""
    previous = db.obj
    if previous is database:
        return
    if isinstance(previous, PooledDatabase):
        previous.close_all()  # nothing uses them once the proxy points elsewhere
    db.initialize(database)


def is_postgres(database=None):
    target = database if database is not None else db.obj
    return isinstance(target, PostgresqlDatabase)


def plan_each_statement(database):
    """In the caller's transaction on PostgreSQL, plan every statement for its own parameters
    and the tables as they are now. A load's repeated statements are prepared (psycopg, after 5
    runs), and PostgreSQL then keeps a generic plan made while the tables it fills were still
    small: a scan of the whole table, run again for every batch as the table grew (most of
    loading 10^5 figures)."""
    if is_postgres(database):
        database.execute_sql("SET LOCAL plan_cache_mode = force_custom_plan")


def analyze_written(database, tables):
    """On PostgreSQL, statistics for `tables` as the caller's transaction has written them, for
    the statements that read them back in the same transaction. Tables written there were never
    analysed (autovacuum sees only committed rows), and without statistics PostgreSQL takes
    `id IN (a batch of 1,000 ids)` to match the whole table and scans it for every batch (most
    of compiling 10^6 figures). ANALYZE samples a bounded number of rows per table.

    The tables are named: a bare ANALYZE takes in the shared catalogs too, and holds their lock
    until the transaction ends, so every other database's ANALYZE waited for the whole load."""
    if is_postgres(database):
        database.execute_sql("ANALYZE " + ", ".join(f'"{table}"' for table in tables))


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


# --- the time limit on queries --------------------------------------------------------------

_deadline = threading.local()


def _sqlite_deadline(connection, timeout_ms):
    deadline = time.monotonic() + timeout_ms / 1000
    # SQLite calls this every N virtual-machine steps; a true result interrupts the query.
    connection.set_progress_handler(lambda: time.monotonic() > deadline, 1000)


def start_deadline(timeout_ms):
    """Give this thread's queries from now on `timeout_ms` each (0: no limit). PostgreSQL's
    own statement_timeout does it there; on SQLite the open connection gets a deadline."""
    _deadline.timeout_ms = timeout_ms
    renew_deadline()


def renew_deadline():
    """Give the queries from now on the thread's limit again: the limit is per query, as
    PostgreSQL's statement_timeout is, so a CSV export of many batches may run longer."""
    timeout_ms = getattr(_deadline, "timeout_ms", 0)
    if timeout_ms and not is_postgres() and not db.is_closed():
        _sqlite_deadline(db.connection(), timeout_ms)


def end_deadline():
    """Lift the thread's limit (the connection goes back to a pool without a handler)."""
    _deadline.timeout_ms = 0
    if not db.is_closed() and not is_postgres():
        db.connection().set_progress_handler(None, 0)
