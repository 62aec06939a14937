"""Every use of peewee's or a driver's internals, fenced in one place.

Each is here because the public API cost too much on a hot path (measured: see each
docstring), and each is pinned by tests/test_fastpath.py, which fails if a peewee or
playhouse upgrade changes what it relies on. Nothing else in the project touches a private
attribute of peewee.
"""

import collections
import functools
import os
import time

import orjson
from peewee import (
    OP,
    SQL,
    BaseModelCursorWrapper,
    CharField,
    Expression,
    ForeignKeyField,
    IntegerField,
    OperationalError,
    PostgresqlDatabase,
    SelectBase,
    TextField,
    _transaction,
)
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

# A pooled PostgreSQL connection given back this recently is handed out again without a ping.
POOL_TRUST_SECONDS = 1.0


class TrustingPostgresqlPool(PooledPostgresqlDatabase):
    """playhouse.pool pings an idle PostgreSQL connection (`SELECT 1`, a round trip) every time
    it is handed out: on a cached response, that was half of what the request asked of the
    database. A connection given back less than POOL_TRUST_SECONDS ago, idle and open as far as
    the driver knows, is handed out without the ping. If the server dropped it meanwhile (a
    restart), the request that gets it fails with 503, like any request during a restart, and the
    pool discards it when it comes back; older connections are still pinged.

    Relies on playhouse.pool's private hooks `_can_reuse` and `_is_closed`, and on the
    adapter's `txn_status`/`txn_idle`."""

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


class WatchedSqlitePool(PooledSqliteDatabase):
    """A pool of connections to a SQLite file that notices when the file at its path is no
    longer the one they opened: replaced (a new file renamed over it, as a deployment copies a
    database in) or deleted. A pooled connection keeps reading the file it opened, however
    long, so without this a server would serve the old data for ever, and a deleted file until
    the last connection closed. Each connection handed out is checked with one stat of the
    path (device and inode, about a microsecond): one opened on another file is closed and a
    new one opened on the file there now; with no file there, OperationalError (a 503).

    Relies on playhouse.pool's private hooks `_connect`, `_is_closed` and `_close_raw`."""

    def __init__(self, database, *args, path, **kwargs):
        super().__init__(database, *args, **kwargs)
        self._path, self._opened_on = path, {}

    def _identity(self):
        try:
            info = os.stat(self._path)
        except OSError as exc:
            # sqlite3's own words for a file it cannot open, which api/store/readiness.py reads
            raise OperationalError(f"unable to open database file: {self._path} is not there ({exc.strerror})") from exc
        return info.st_dev, info.st_ino

    def _connect(self):
        self._current = self._identity()  # _is_closed compares each pooled connection with it
        conn = super()._connect()
        self._opened_on[self.conn_key(conn)] = self._current  # a pooled one was checked against it
        return conn

    def _is_closed(self, conn):
        if self._opened_on.get(self.conn_key(conn)) != self._current:
            self._close_raw(conn)  # opened on a file that is no longer there: never again
            return True
        return super()._is_closed(conn)

    def _close_raw(self, conn):
        self._opened_on.pop(self.conn_key(conn), None)
        super()._close_raw(conn)


class OpenedTransaction(_transaction):
    """peewee's transaction, begun by `opening`: a string of statements without parameters,
    BEGIN first, sent in one round trip (PostgreSQL's simple query protocol takes several). A
    request's transaction began with a BEGIN of its own, then its settings and the dataset's
    look-up: two of the four round trips a record's answer made, now one (3 with the record
    and the COMMIT). The cursor of `opening` is kept as `cursor`, its last result to read.

    Relies on peewee's `_transaction` and its `_begin` hook; the rest (the depth, the COMMIT
    or ROLLBACK at exit) is peewee's own."""

    def __init__(self, db, opening):
        super().__init__(db)
        self.opening, self.cursor = opening, None

    def _build_ctx(self):
        return type(self)(self.db, self.opening)

    def _begin(self):
        self.cursor = self.db.execute_sql(self.opening)


class _InSelect(Expression):
    def _is_rhs_empty(self, rhs, ctx):
        return False  # a select (or SQL text) is never the empty list the check is for


def in_select(column, select):
    """The condition `column IN (select)`, `select` a query or SQL text. peewee's own (`in_`)
    first asks whether its right side is an empty list, by rendering a query as SQL in full, then
    renders it again for the statement; a query nested in another's IN was rendered four times.
    That was half of building a subject's page's SQL, and building the SQL was most of the page's
    time in-process (the query itself a fifth). A query is never that empty list.

    Relies on `Expression._is_rhs_empty`, the hook Expression's own rendering asks."""
    if not isinstance(select, (SelectBase, SQL)):
        raise TypeError(f"in_select takes a query or SQL text, not {type(select).__name__}: use in_() for values")
    return _InSelect(column, OP.IN, select)


def as_sent(field):
    """`field`, selected so that its value comes back as the driver sends it. Text and integers
    need no conversion on either backend (sqlite3 and psycopg hand back str and int), and peewee's
    per-value conversion of them was a fifth of what a CSV export cost; booleans (0/1 on SQLite),
    dates, decimals and JSON are still converted."""
    return field.coerce(False) if sent_as_read(field) else field


def sent_as_read(field):
    """Whether both drivers hand back `field`'s values as peewee would convert them (text,
    integers; a foreign key by the field it points to)."""
    target = field.rel_field if isinstance(field, ForeignKeyField) else field
    return isinstance(target, (CharField, IntegerField)) or type(target) is TextField


def fetched(query):
    """The rows of `query` (a `.namedtuples()` select) read with one fetchall and converted a
    column at a time: peewee's cursor wrapper reads and converts one row per call, which was a
    third of what a CSV export cost. The rows are the named tuples peewee would have made.

    The named tuple class is made once per set of columns: peewee makes one per query (70 µs,
    a thirtieth of a page's time in-process).

    Relies on `Select._get_cursor_wrapper`, on ModelNamedTupleCursorWrapper being a
    BaseModelCursorWrapper whose `initialize` finds the `columns`, `convert` and `converters`,
    and on its `dedupe_columns` naming the tuple's fields."""
    cursor = query.model._meta.database.execute(query)
    wrapper = query._get_cursor_wrapper(cursor)
    BaseModelCursorWrapper.initialize(wrapper)  # what its own initialize does, but for the class
    row = row_class(tuple(wrapper.dedupe_columns(wrapper.columns)))
    rows = cursor.fetchall()
    if not rows or not wrapper.convert:
        return [row._make(values) for values in rows]
    columns = list(zip(*rows, strict=True))
    for i in wrapper.convert:
        columns[i] = map(wrapper.converters[i], columns[i])
    return list(map(row, *columns))


@functools.lru_cache(maxsize=256)
def row_class(names):
    return collections.namedtuple("Row", names, rename=True)


def first_row(model, columns, keys, values):
    """The first row (a tuple of the columns named `columns`) of `model` whose columns `keys`
    equal `values`, or None. Its SQL is written once per shape and database: peewee builds a
    query's SQL anew every time it runs, which was a seventh of a record's answer in-process
    (its document) and a tenth of a subject's page on PostgreSQL (its stored total)."""
    database = model._meta.database
    return database.execute_sql(_first_row_sql(model, columns, keys, database.param), values).fetchone()


@functools.cache
def _first_row_sql(model, columns, keys, param):
    selected = ", ".join(f'"{column}"' for column in columns)
    condition = " AND ".join(f'"{key}" = {param}' for key in keys)
    return f'SELECT {selected} FROM "{model._meta.table_name}" WHERE {condition} LIMIT 1'


def rows_among(model, columns, key, values, order=None, group=None):
    """The rows (tuples of the columns named `columns`) of `model` whose column `key` holds one of
    `values`, grouped by the column `group` (then `columns` may hold "COUNT(*)") and in the order of
    the column `order` if given: SQL written once per shape and
    database, the values sent as one parameter however many (an array on PostgreSQL, a JSON list
    for SQLite's json_each). peewee wrote a parameter per value and built the SQL anew each
    time, and made a named tuple class per query: most of a full search page's time, in-process."""
    database = model._meta.database
    postgres = is_postgres_database(database)
    sql = _among_sql(model._meta.table_name, columns, key, order, group, postgres, database.param)
    return database.execute_sql(sql, [among_param(values, postgres)]).fetchall()


def rows_among_each(selections, columns, key):
    """rows_among of several models in one statement (UNION ALL): for each (model, values) of
    `selections`, its rows whose column `key` holds one of `values`, each led by the model's
    place in `selections`. A search page names records of up to seven types, and a statement
    per type was a round trip each on PostgreSQL."""
    database = selections[0][0]._meta.database
    postgres = is_postgres_database(database)
    tables = tuple(model._meta.table_name for model, _ in selections)
    sql = _among_each_sql(tables, columns, key, postgres, database.param)
    return database.execute_sql(sql, [among_param(values, postgres) for _, values in selections]).fetchall()


@functools.cache
def _among_each_sql(tables, columns, key, postgres, param):
    selected = ", ".join(f'"{column}"' for column in columns)
    condition = among_condition(key, postgres, param)
    return " UNION ALL ".join(f'SELECT {k}, {selected} FROM "{table}" WHERE {condition}' for k, table in enumerate(tables))


def is_postgres_database(database):
    return isinstance(getattr(database, "obj", database), PostgresqlDatabase)


def among_condition(key, postgres, param):
    """SQL: the column `key` holds one of the values of one parameter (among_param)."""
    return f'"{key}" = ANY({param})' if postgres else f'"{key}" IN (SELECT value FROM json_each({param}))'


def among_param(values, postgres):
    """The parameter of among_condition: an array on PostgreSQL, a JSON list for SQLite's json_each."""
    values = list(values)
    return values if postgres else orjson.dumps(values).decode()


@functools.cache
def _among_sql(table, columns, key, order, group, postgres, param):
    selected = ", ".join(column if column == "COUNT(*)" else f'"{column}"' for column in columns)
    condition = among_condition(key, postgres, param)
    grouped = f' GROUP BY "{group}"' if group else ""
    return f'SELECT {selected} FROM "{table}" WHERE {condition}{grouped}' + (f' ORDER BY "{order}"' if order else "")


def indexed_by(query, index):
    """`query` (a select of one model, as a subquery) told to read `index` on SQLite: its SQL
    with INDEXED BY after the table, as an SQL node. peewee has no way to say it, and SQLite's
    planner, from its statistics, read a unit's year by last day (25 ms at 10^6 figures) where
    its page order reads a page in well under one (api/query/days.py). SQLite refuses a query the
    index cannot answer, so a wrong index is an error, never a wrong answer.

    Relies on peewee naming the query's table `"<table>" AS "t1"` in its SQL, once; where it
    does not, the query is left to the planner (slower, not wrong: tests/test_fastpath.py fails)."""
    sql, params = query.sql()
    table = f'FROM "{query.model._meta.table_name}" AS "t1"'
    if sql.count(table) != 1:
        return query
    return SQL("(" + sql.replace(table, f'{table} INDEXED BY "{index}"') + ")", params)


def insert_rows(database, model, rows):
    """Write `rows` (dicts with the same keys) with one prepared INSERT run for every row
    (DB-API executemany). The word index is some 17,000 rows, and peewee's insert_many builds
    the SQL text value by value, which made that most of what a load cost.

    Relies on `Database.param` and the driver cursor's `executemany`; values go through each
    field's public `db_value`."""
    if not rows:
        return
    given = [model._meta.fields[name] for name in rows[0]]
    defaulted = [field for field in model._meta.sorted_fields if field.name not in rows[0] and field.default is not None and not field.primary_key]
    fields = given + defaulted
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    marks = ", ".join([database.param] * len(fields))
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
    # The same for every row: converted once.
    defaults = [field.db_value(field.default() if callable(field.default) else field.default) for field in defaulted]
    params = [[field.db_value(row[field.name]) for field in given] + defaults for row in rows]
    database.cursor().executemany(sql, params)


def update_rows(database, model, rows, columns, keys):
    """Set `columns` of the rows named by `keys` to the values in `rows` (dicts), with one prepared
    UPDATE run for every row, as insert_rows does for INSERT."""
    if not rows:
        return
    fields = [model._meta.fields[name] for name in columns]
    where = [model._meta.fields[name] for name in keys]
    assignments = ", ".join(f'"{field.column_name}" = {database.param}' for field in fields)
    condition = " AND ".join(f'"{field.column_name}" = {database.param}' for field in where)
    sql = f'UPDATE "{model._meta.table_name}" SET {assignments} WHERE {condition}'
    params = [[field.db_value(row[field.name]) for field in fields + where] for row in rows]
    database.cursor().executemany(sql, params)
