"""Keyset pagination with opaque, signed cursors.

A cursor carries the list it was made for (its scope: the collection, or search), the sort
and the sort values of the last row served, so
the next page is `WHERE (keys) > (last values)`: as fast 100 pages deep as on the first,
and stable while the data does not change. It is signed (HMAC) so a forged or altered
cursor is refused with a 400 rather than turned into a query. A cursor stays valid across
reloads of the dataset: it names a position in the sort order, not a row, so a client
continues from where it was (rows added or removed before that point are not revisited).

flask-smorest's own pagination is offset-based (`Page`), which grows slower with depth
and shifts under reloads, so this module does the keyset part itself.
"""

import base64
import datetime
import decimal
import hashlib
import hmac

import orjson
from peewee import Case, CharField, DateField, DecimalField, ForeignKeyField, IntegerField, TextField, Tuple

from api.store.db import renew_deadline

# Sorted NULLs go last in either direction, on SQLite and PostgreSQL alike.


class CursorError(ValueError):
    pass


def _encode_value(value):
    if isinstance(value, datetime.date):
        return {"d": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"n": str(value)}
    return value


def _decode_value(value):
    if isinstance(value, dict):
        if "d" in value:
            return datetime.date.fromisoformat(value["d"])
        if "n" in value:
            return decimal.Decimal(value["n"])
        raise CursorError("unknown value in cursor")
    return value


def encode_cursor(secret, scope, sort, values):
    payload = orjson.dumps({"c": scope, "s": sort, "k": [_encode_value(v) for v in values]})
    signature = hmac.new(secret, payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")


def decode_cursor(secret, cursor, scope, sort):
    """The last row's sort values, or CursorError saying why the cursor is refused.

    A cursor of another list is refused even when its signature is good: its values would
    name a position in another table's order, and the page would silently skip rows.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError) as exc:
        raise CursorError("not a cursor this API issued (bad encoding)") from exc
    signature, payload = raw[:12], raw[12:]
    expected = hmac.new(secret, payload, hashlib.sha256).digest()[:12]
    if len(signature) < 12 or not hmac.compare_digest(signature, expected):
        raise CursorError("not a cursor this API issued (bad signature)")
    try:
        data = orjson.loads(payload)
        values = [_decode_value(v) for v in data["k"]]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CursorError("not a cursor this API issued (bad content)") from exc
    if data.get("c") != scope:
        raise CursorError(f"this cursor was made for {data.get('c')!r}, not {scope!r}; start over without it")
    if data.get("s") != sort:
        raise CursorError(f"this cursor was made for sort={data.get('s')!r}; repeat that sort or start over")
    return values


def _nullable(expression):
    # A column declared NOT NULL needs no NULLs-last term, and without it the database can
    # walk an index in sort order instead of sorting every row.
    return getattr(expression, "null", True)


# What a cursor value must be to be compared with a sort key's column. A cursor is signed, but
# the secret may be the default (public) one, and PostgreSQL refuses to compare a date with a
# number (an error, which would be a 500): a value of the wrong type is a bad cursor instead.
# So is an integer no column holds: sqlite3 cannot bind one past 64 bits (OverflowError), and
# PostgreSQL would compare a bigint with a numeric instead of using the index.
BOUND = decimal.Decimal("1e30")
INTEGERS = range(-(1 << 63), 1 << 63)


def _fits(field, value):
    if value is None:
        return True
    if isinstance(field, ForeignKeyField):
        field = field.rel_field
    if isinstance(field, IntegerField):
        return isinstance(value, int) and not isinstance(value, bool) and value in INTEGERS
    if isinstance(field, DecimalField):
        return isinstance(value, decimal.Decimal) and value.is_finite() and abs(value) < BOUND and value.as_tuple().exponent >= -30
    if isinstance(field, DateField):
        return isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)
    if isinstance(field, CharField | TextField):
        return isinstance(value, str) and "\x00" not in value
    return False


def check_position(keys, values):
    """Refuse (CursorError) values that are not one of each sort key's type, in order."""
    if len(values) != len(keys):
        raise CursorError(f"not a cursor this API issued (it holds {len(values)} values for {len(keys)} sort keys)")
    for number, ((expression, _), value) in enumerate(zip(keys, values, strict=True), start=1):
        if not _fits(expression, value):
            raise CursorError(f"not a cursor this API issued (its value {number} is not of its sort key's type)")


def page_order(model):
    """The keys of a record table's default order: as the page prints them, the id breaking ties."""
    return [(model.position, False), (model.id, False)]


def key_columns(keys):
    """The columns of `keys`, each once (a sort may name one twice: `sort=-as_of,as_of`)."""
    return list({expression.column_name: expression for expression, _ in keys}.values())


def order_by_columns(keys, source):
    """ORDER BY text, as `order_by` orders `keys`, for their columns as a subquery named `source`
    selects them (key_columns, each under its column name)."""
    terms = []
    for expression, descending in keys:
        column = f'"{source}"."{expression.column_name}"'
        if _nullable(expression):
            terms.append(f"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END")
        terms.append(f"{column} DESC" if descending else column)
    return ", ".join(terms)


def order_by(keys):
    """ORDER BY for [(expression, descending)]: NULLs last, then the values."""
    clauses = []
    for expression, descending in keys:
        if _nullable(expression):
            clauses.append(Case(None, ((expression.is_null(), 1),), 0).asc())
        clauses.append(expression.desc() if descending else expression.asc())
    return clauses


def after(keys, values):
    """WHERE clause selecting the rows after `values` in the order of `keys`."""
    if len({d for _, d in keys}) == 1 and not any(_nullable(e) for e, _ in keys) and None not in values:
        # One direction, no NULLs: a row-value comparison, which an index on the keys answers.
        left, right = Tuple(*(e for e, _ in keys)), Tuple(*values)
        return (left < right) if keys[0][1] else (left > right)
    condition = None
    equal_so_far = None
    for (expression, descending), value in zip(keys, values, strict=True):
        nullable = _nullable(expression)
        if value is None:
            beyond = None  # nothing sorts after NULL except other NULLs, equal on this key
            same = expression.is_null()
        else:
            beyond = (expression < value) if descending else (expression > value)
            if nullable:
                beyond = beyond | expression.is_null()
            same = expression == value
        if beyond is not None:
            step = beyond if equal_so_far is None else (equal_so_far & beyond)
            condition = step if condition is None else (condition | step)
        equal_so_far = same if equal_so_far is None else (equal_so_far & same)
    if condition is None:
        # Every key was NULL and equal: only a later tiebreaker could follow, and it is never NULL.
        raise CursorError("cursor holds no position")
    return condition


BATCH = 2000  # rows per query of a batched walk: memory stays flat, and the queries few


class Batch(list):
    """One batch of rows, with `ids`: a subquery selecting the same rows' ids (or None), which
    costs the database less than a list of 2000 ids costs to send."""

    ids = None


def _position(row, keys):
    if isinstance(row, dict):
        return [row.get(expression.name) for expression, _ in keys]
    if hasattr(row, "__data__"):
        return [row.__data__.get(expression.name) for expression, _ in keys]
    return [getattr(row, expression.column_name) for expression, _ in keys]  # records.record_columns' tuples


def keyset_batches(query, keys, size=None, fetch=list):
    """`query` in the order of `keys`, as Batches of at most `size` (BATCH) rows, each one query.

    What streams the whole of a table (CSV, downloads) in bounded memory on either backend:
    psycopg's default cursor fetches a whole result at once, so one unbounded SELECT would
    hold every row. Rows may be model instances, dicts (`.dicts()`) or named tuples, each
    batch read by `fetch` (records.fetched reads named tuples faster than peewee). Each
    batch gets the query time limit afresh (the limit is per query, as on PostgreSQL).
    """
    size = size or BATCH
    ordered = query.order_by(*order_by(keys))
    model = getattr(query, "model", None)
    with_ids = model is not None and model._meta.primary_key is not None and model._meta.primary_key.name == "id"
    last = None
    while True:
        renew_deadline()
        page = (ordered if last is None else ordered.where(after(keys, last))).limit(size)
        batch = Batch(fetch(page))
        if not batch:
            return
        if with_ids:
            batch.ids = page.select(model.id)
        yield batch
        if len(batch) < size:
            return
        last = _position(batch[-1], keys)
