"""Keyset pagination with opaque, signed cursors.

A cursor carries the sort it was made for and the sort values of the last row served, so
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
from peewee import BooleanField, Case, CharField, DateField, DecimalField, ForeignKeyField, IntegerField, TextField

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


def encode_cursor(secret, sort, values):
    payload = orjson.dumps({"s": sort, "k": [_encode_value(v) for v in values]})
    signature = hmac.new(secret, payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")


def decode_cursor(secret, cursor, sort):
    """The last row's sort values, or CursorError saying why the cursor is refused."""
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
    if data.get("s") != sort:
        raise CursorError(f"this cursor was made for sort={data.get('s')!r}; repeat that sort or start over")
    return values


def order_by(keys):
    """ORDER BY for [(expression, descending)]: NULLs last, then the values."""
    clauses = []
    for expression, descending in keys:
        clauses.append(Case(None, ((expression.is_null(), 1),), 0).asc())
        clauses.append(expression.desc() if descending else expression.asc())
    return clauses


def _fits(field, value):
    """Whether `value` can stand for `field` in a comparison. The signature proves a cursor was
    issued with this secret, not that it fits today's sort keys (a cursor from an older release,
    or signed with a leaked secret, may not), and PostgreSQL refuses `integer > 'x'` outright."""
    if value is None:
        return field.null
    if isinstance(field, ForeignKeyField):
        field = field.rel_field
    if isinstance(field, BooleanField):
        return type(value) is bool
    if isinstance(field, IntegerField):
        return type(value) is int and -(2**63) <= value < 2**63
    if isinstance(field, DecimalField):
        limit = decimal.Decimal(10) ** (field.max_digits - field.decimal_places)
        return isinstance(value, decimal.Decimal) and value.is_finite() and abs(value) < limit
    if isinstance(field, DateField):
        return type(value) is datetime.date
    if isinstance(field, CharField | TextField):
        return isinstance(value, str) and "\x00" not in value
    return False


def after(keys, values):
    """WHERE clause selecting the rows after `values` in the order of `keys`."""
    if len(values) != len(keys) or not all(_fits(field, value) for (field, _), value in zip(keys, values, strict=True)):
        raise CursorError("the cursor's position does not fit this sort; start over without a cursor")
    condition = None
    equal_so_far = None
    for (expression, descending), value in zip(keys, values, strict=True):
        if value is None:
            beyond = None  # nothing sorts after NULL except other NULLs, equal on this key
            same = expression.is_null()
        else:
            beyond = ((expression < value) if descending else (expression > value)) | expression.is_null()
            same = expression == value
        if beyond is not None:
            step = beyond if equal_so_far is None else (equal_so_far & beyond)
            condition = step if condition is None else (condition | step)
        equal_so_far = same if equal_so_far is None else (equal_so_far & same)
    if condition is None:
        # Every key was NULL and equal: only a later tiebreaker could follow, and it is never NULL.
        raise CursorError("cursor holds no position")
    return condition
