"""The deferred database, the base model, and how a request uses the database.

Every request reads inside one read-only transaction: a reload of the dataset commits in
one transaction too, so a request sees the old dataset or the new one, never a mix. A
query that runs past QUERY_TIMEOUT_MS is cut off (and answered 503) rather than left to
hold a worker.
"""

import contextlib
import time

from flask import g, has_app_context, request
from peewee import DatabaseProxy, Model, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect, parse
from playhouse.pool import PooledDatabase, PooledPostgresqlDatabase, PooledSqliteDatabase

db = DatabaseProxy()

# WAL lets readers go on while a load writes; foreign keys are off by default in SQLite.
SQLITE_PRAGMAS = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}
# A serving connection must not wait long for a lock: 503 soon beats a hung worker.
SQLITE_READ_PRAGMAS = {"foreign_keys": 1, "busy_timeout": 2000, "query_only": 1}
POSTGRES_CONNECT_TIMEOUT = 3
NO_DATABASE_BLUEPRINTS = {"docs"}
# A pooled connection unused this long is closed rather than handed out again.
POOL_STALE_SECONDS = 300
POOL_WAIT_SECONDS = 5


# A pooled PostgreSQL connection given back this recently is handed out again without a ping.
POOL_TRUST_SECONDS = 1.0


class TrustingPostgresqlPool(PooledPostgresqlDatabase):
    """playhouse.pool pings an idle PostgreSQL connection (`SELECT 1`, a round trip) every time
    it is handed out: on a cached response, that was half of what the request asked of the
    database. A connection given back less than POOL_TRUST_SECONDS ago, idle and open as far as
    the driver knows, is handed out without the ping. If the server dropped it meanwhile (a
    restart), the request that gets it fails with 503, like any request during a restart, and the
    pool discards it when it comes back; older connections are still pinged."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._given_back = {}

    def _can_reuse(self, conn):
        reusable = super()._can_reuse(conn)
        if reusable:
            self._given_back[self.conn_key(conn)] = time.monotonic()
        return reusable

    def _is_closed(self, conn):
        given_back = self._given_back.pop(self.conn_key(conn), None)
        adapter = self._adapter
        if given_back is not None and time.monotonic() - given_back < POOL_TRUST_SECONDS:
            if not conn.closed and adapter.txn_status(conn) == adapter.txn_idle:
                return False
        return super()._is_closed(conn)


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
    lock for ever either. `pool_size` > 0 keeps
    up to that many connections open between requests (playhouse.pool): a SQLite
    connection reads the schema again each time it is opened and a PostgreSQL one costs
    a handshake, which would be most of the time a cached response takes.
    """
    if url.startswith("sqlite"):
        if not readonly:
            return connect(url, pragmas=SQLITE_PRAGMAS)
        path = parse(url)["database"]
        if path == ":memory:":
            return SqliteDatabase(path, pragmas=SQLITE_READ_PRAGMAS)
        if pool_size:
            # A pooled connection is handed to whichever thread asks next, never to two at once.
            return PooledSqliteDatabase(
                f"file:{path}?mode=ro", uri=True, pragmas=SQLITE_READ_PRAGMAS, check_same_thread=False, **_pool_options(pool_size)
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
    previous = db.obj
    if isinstance(previous, PooledDatabase) and previous is not database:
        previous.close_all()  # nothing uses them once the proxy points elsewhere
    db.initialize(database)
    return database


def is_postgres(database=None):
    target = database if database is not None else db.obj
    return isinstance(target, PostgresqlDatabase)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


def _begin_request():
    db.connect(reuse_if_open=True)
    timeout_ms = g.get("query_timeout_ms") or 0
    g.db_transaction = db.atomic()
    g.db_transaction.__enter__()
    if is_postgres():
        # One snapshot for the whole request, however many queries it makes.
        db.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if timeout_ms:
            db.execute_sql(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
        # A query takes the snapshot now; from then on nothing in the request can make the
        # transaction read-write again (SET TRANSACTION READ WRITE must precede any query).
        db.execute_sql("SELECT 1")
    elif timeout_ms:
        _sqlite_deadline(db.connection(), timeout_ms)


def _sqlite_deadline(connection, timeout_ms):
    deadline = time.monotonic() + timeout_ms / 1000
    # SQLite calls this every N virtual-machine steps; a true result interrupts the query.
    connection.set_progress_handler(lambda: time.monotonic() > deadline, 1000)


@contextlib.contextmanager
def without_time_limit():
    """Lift the request's query time limit for a job that reads the whole dataset on purpose
    (building a download). On PostgreSQL the limit is per statement and every statement of such
    a job is one bounded batch, so only SQLite's per-request deadline needs lifting."""
    if db.is_closed() or is_postgres():
        yield
        return
    connection = db.connection()
    connection.set_progress_handler(None, 0)
    try:
        yield
    finally:
        if g.get("query_timeout_ms"):
            _sqlite_deadline(connection, g.query_timeout_ms)  # the rest of the request gets a fresh limit


def renew_deadline():
    """Give the queries from now on QUERY_TIMEOUT_MS again: the limit is per query, as
    PostgreSQL's statement_timeout is, so a CSV export of many batches may run longer."""
    if not has_app_context():
        return  # a walk outside any request (the CLI) has no request limit to renew
    timeout_ms = g.get("query_timeout_ms") or 0
    if timeout_ms and not is_postgres() and not db.is_closed():
        _sqlite_deadline(db.connection(), timeout_ms)


def _end_request(exc):
    transaction = g.pop("db_transaction", None)
    try:
        if transaction is not None:
            transaction.__exit__(None, None, None)
    finally:
        if not db.is_closed():
            if not is_postgres():
                db.connection().set_progress_handler(None, 0)
            db.close()


def init_app(app):
    """Open a read-only, single-snapshot transaction around every request."""

    @app.before_request
    def begin():
        # A request no route matched, and the docs, need no database: they are answered
        # (404, 405, the docs page) even while the database is down, and cost it nothing.
        if request.url_rule is None or request.blueprint in NO_DATABASE_BLUEPRINTS:
            return
        g.query_timeout_ms = app.config.get("QUERY_TIMEOUT_MS", 5000)
        _begin_request()

    @app.teardown_request
    def end(exc):
        try:
            _end_request(exc)
        except Exception:  # noqa: BLE001 - closing must never turn a response into a 500
            app.logger.exception("closing the request's database connection failed")
