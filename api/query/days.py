"""A date range's total, and the index that reads its page, at a cost that does not grow with
the table.

A record overlaps [from, to] when its first day is on or before `to` and its last day on or
after `from`. A record that ends before `from` starts before `to` too (its first day is never
after its last: the seeds' schemas refuse such a period, and `keep` checks), so

    overlapping = #(first day <= to) - #(last day < from)

Both are running totals by day, kept at load (`DayCount`) for a whole collection and for each
value of one filter (a figure's unit): one index seek each, however many records overlap.
Counting the overlapping rows instead read every index entry of the unit that ends after
`from` (bench/RESULTS.md: 10 ms for a unit's month at 10^6 figures, and the budget hit for a year).

The same totals choose the page's plan. Walking the records in page order and keeping those
that overlap reads about (page size) x (records) / (overlapping) index entries; walking the
days reads every record that ends after `from`, then sorts the overlapping ones. Where many
overlap the first is short (some hundreds of entries for a unit's year at any size); where few
do, the second. SQLite is told which index to read (INDEXED BY: with its statistics it chose
the days for a unit's year, 25 ms at 10^6 against well under 1 ms); PostgreSQL has no hints and
chooses from its own statistics, among the same indexes.
"""

import datetime
import functools
from dataclasses import dataclass

from peewee import fn

from api.store import models as m
from api.store.fastpath import insert_rows

# The ListCount row (its filter) that says a collection's day counts are kept; its total is
# how many of its records have days at all.
KEPT = "from,to"
RANGE = ("from", "to")


@dataclass(frozen=True)
class Dated:
    """A collection's days: the expressions its from/to filter compares, and the filters whose
    values have running totals of their own, each with the indexes that walk its records in page
    order (`order`) and by last day (`days`); "" is the whole collection."""

    first: object
    last: object
    scopes: dict  # filter name -> the column it compares ("" -> None)
    order: dict  # filter name -> index in page order, the days in it
    days: dict  # filter name -> index by last day


DATED = {
    "figures": Dated(
        m.FIGURE_FIRST_DAY,
        m.FIGURE_LAST_DAY,
        {"": None, "unit": m.Figure.unit},
        {"": "figure_order_days", "unit": "figure_unit_order_days"},
        {"": "figure_days", "unit": "figure_unit_days"},
    ),
}


@dataclass(frozen=True)
class Range:
    """A date range of one scope, measured from the running totals."""

    collection: str
    scope: str  # the filter it is within ("" for the whole collection)
    overlapping: int  # the records it selects: the list's exact total
    in_scope: int  # every record of the scope, dated or not
    ending_after: int  # the records of the scope whose last day is on or after `from`

    def index(self, limit):
        """The index that reads a page of `limit` rows (and one more, to know if there is a
        next) with the fewer entries: in page order, or by last day (module docstring)."""
        dated = DATED[self.collection]
        in_order = min(self.in_scope, (limit + 1) * self.in_scope / max(self.overlapping, 1))
        return dated.order[self.scope] if in_order <= self.ending_after else dated.days[self.scope]


def scope_of(collection, filters):
    """(scope filter name, its value) if `filters` ({name: value}, the list's filters) are a date
    range within the whole collection or one value of a filter with running totals; else None."""
    dated = DATED.get(collection)
    if dated is None or not set(RANGE) & set(filters):
        return None
    rest = [name for name in filters if name not in RANGE]
    if not rest:
        return "", ""
    if len(rest) == 1 and rest[0] in dated.scopes and rest[0]:
        return rest[0], str(filters[rest[0]])
    return None


def measure(collection, filters):
    """The Range `filters` select (see scope_of), or None: not such a range, or its collection's
    day counts not kept (a database migrated to 0010 and not loaded since)."""
    scope = scope_of(collection, filters)
    if scope is None:
        return None
    low, high = filters.get("from"), filters.get("to")
    name, value = scope
    if low and high and low > high:
        found = _read(collection, name, value, datetime.date.min, datetime.date.min)
        return None if found is None else Range(collection, name, 0, found[3], 0)
    found = _read(collection, name, value, low or datetime.date.min, high or datetime.date.max)
    if found is None:
        return None
    first_upto, ended_before, dated, in_scope = found
    return Range(collection, name, first_upto - ended_before, in_scope, dated - ended_before)


def _read(collection, name, value, low, high):
    """(#first day <= high, #last day < low, #dated, #records) of a scope, or None if not kept."""
    database = m.DayCount._meta.database
    day = m.DayCount.day.db_value
    scope = (collection, name, value)
    params = (collection, KEPT, "", *scope, day(high), *scope, day(low), *scope, *scope)
    row = database.execute_sql(_range_sql(database.param), params).fetchone()
    if row[0] is None:
        return None
    return row[1] or 0, row[2] or 0, row[3] or 0, row[4] or 0


@functools.cache
def _range_sql(param):
    scope = f"collection = {param} AND filter = {param} AND value = {param}"
    latest = f'FROM "day_count" WHERE {scope} AND day {{}} ORDER BY day DESC LIMIT 1'
    return (
        f'SELECT (SELECT total FROM "list_count" WHERE {scope}), '
        f"(SELECT first_upto {latest.format('<= ' + param)}), "
        f"(SELECT last_upto {latest.format('< ' + param)}), "
        f'(SELECT first_upto FROM "day_count" WHERE {scope} ORDER BY day DESC LIMIT 1), '
        f'(SELECT total FROM "list_count" WHERE {scope})'
    )


def keep(database):
    """Write the running totals of every dated collection, in place of any kept before (in the
    caller's transaction). A collection with a record whose first day is after its last gets
    none: its ranges are then counted under the budget, as any other filter's."""
    m.DayCount.delete().execute()
    m.ListCount.delete().where(m.ListCount.filter == KEPT).execute()
    for collection, dated in DATED.items():
        model = m.RECORD_MODELS[collection]
        if model.select().where(dated.first > dated.last).exists():
            continue
        rows = []
        for name, column in dated.scopes.items():
            starts, ends = _per_day(model, column, dated.first), _per_day(model, column, dated.last)
            days_of = {}
            for value, day in starts.keys() | ends.keys():
                days_of.setdefault(value, set()).add(day)
            for value, days in sorted(days_of.items()):
                first_upto = last_upto = 0
                for day in sorted(days):
                    first_upto += starts.get((value, day), 0)
                    last_upto += ends.get((value, day), 0)
                    rows.append(
                        {"collection": collection, "filter": name, "value": value, "day": day, "first_upto": first_upto, "last_upto": last_upto}
                    )
        insert_rows(database, m.DayCount, rows)
        dated_total = model.select().where(dated.first.is_null(False)).count()
        insert_rows(database, m.ListCount, [{"collection": collection, "filter": KEPT, "value": "", "total": dated_total}])


def _per_day(model, column, day):
    """{(value of `column` as a string, "" for the whole collection; day): how many records}."""
    keys = (day,) if column is None else (column, day)
    query = model.select(*keys, fn.COUNT(model.id)).where(day.is_null(False))
    if column is not None:
        query = query.where(column.is_null(False))
    out = {}
    for *value, when, n in query.group_by(*keys).tuples():
        when = when if isinstance(when, datetime.date) else datetime.date.fromisoformat(when)
        out[(str(value[0]) if value else "", when)] = n
    return out
