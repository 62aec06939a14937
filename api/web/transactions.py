"""How a request uses the database: one read-only transaction, one snapshot, a time limit.

Every request reads inside one read-only transaction: a reload of the dataset commits in
one transaction too, so a request sees the old dataset or the new one, never a mix. (On
PostgreSQL a view that reads with one statement, a record by id, needs none: the statement has a
snapshot of its own.) A query that runs past QUERY_TIMEOUT_MS is cut off (and answered 503)
rather than left to hold a worker.
"""

from flask import current_app, g, request

from api.query.dataset import DATASET_SQL, read_current
from api.store.db import db, end_deadline, is_postgres, start_deadline, use
from api.store.fastpath import OpenedTransaction

# The docs need no database: they are answered even while it is down. Nor does the explorer's
# style sheet, which the page saying the database is not set up yet (api/web/errors.py) loads.
NO_DATABASE_BLUEPRINTS = {"docs"}
NO_DATABASE_ENDPOINTS = {"explorer.Stylesheet"}
EXTENSION = "civicfacts_database"


def use_app_database(app=None):
    """Point the shared proxy at this app's database. One app per process in production, so
    this is a no-op there; tests run several apps (on several databases) in one process."""
    use((app or current_app).extensions[EXTENSION])


def _begin_request(timeout_ms):
    db.connect(reuse_if_open=True)
    if is_postgres():
        if _one_statement():
            # Put off: the view reads with one statement, which has a snapshot of its own
            # (api.query.documents.one_with_dataset). Should it need more, it begins the
            # transaction then (begin_put_off), in a snapshot taken then.
            g.transaction_put_off = timeout_ms
            return
        _begin_postgres(timeout_ms)
    else:
        g.db_transaction = db.atomic()
        g.db_transaction.__enter__()
        start_deadline(timeout_ms)


def _begin_postgres(timeout_ms):
    # One snapshot for the whole request, however many queries it makes. The dataset's
    # look-up (which every request makes) takes the snapshot now; from then on nothing in
    # the request can make the transaction read-write again (it begins READ ONLY). The
    # BEGIN, the settings and the look-up go in one round trip (each is ~0.25 ms under
    # load; a record's whole answer is ~2 ms in-process), not three.
    statements = ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"]
    if timeout_ms:
        statements.append(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
    g.db_transaction = OpenedTransaction(db, "; ".join([*statements, DATASET_SQL]))
    g.db_transaction.__enter__()
    g.dataset = read_current(g.db_transaction.cursor)


def one_statement(view_class):
    """Mark a view that, as a rule, reads with one statement (a record by id): on PostgreSQL its
    request opens no transaction unless the view asks for one (begin_put_off), so its answer is
    one round trip, not three (BEGIN with the dataset's look-up, the statement, COMMIT). Not
    when the request asks for what needs more statements (`include`)."""
    view_class.reads_in_one_statement = True
    return view_class


def _one_statement():
    view = current_app.view_functions.get(request.endpoint)
    return getattr(getattr(view, "view_class", None), "reads_in_one_statement", False) and "include" not in request.args


def begin_put_off():
    """Begin the request's transaction now if it was put off (a one-statement view about to read
    more than its statement, as a 404 does): True if it began, reading the dataset anew."""
    timeout_ms = g.pop("transaction_put_off", None)
    if timeout_ms is None:
        return False
    _begin_postgres(timeout_ms)
    return True


def _end_request():
    transaction = g.pop("db_transaction", None)
    try:
        if transaction is not None:
            transaction.__exit__(None, None, None)
    finally:
        if not db.is_closed():
            end_deadline()
            db.close()


def init_app(app, database):
    """Open a read-only, single-snapshot transaction on `database` around every request."""
    app.extensions[EXTENSION] = database
    use(database)

    @app.before_request
    def begin():
        use_app_database(app)
        # A request no route matched, and the docs, need no database: they are answered
        # (404, 405, the docs page) even while the database is down, and cost it nothing.
        if request.url_rule is None or request.blueprint in NO_DATABASE_BLUEPRINTS or request.endpoint in NO_DATABASE_ENDPOINTS:
            return
        _begin_request(app.config.get("QUERY_TIMEOUT_MS", 5000))

    @app.teardown_request
    def end(exc):
        try:
            _end_request()
        except Exception:  # noqa: BLE001 - closing must never turn a response into a 500
            app.logger.exception("closing the request's database connection failed")
