"""How many rows a list has, without the cost growing with the table.

The total of a whole collection, and of each value of each of its single-column filters
(`COUNTED_FILTERS`: the filters of api/web/resources that compare one column, or one link, with
one value), are counted at load (api/ingest/compile.py) and looked up. Any other combination
is counted at request time under a budget: past `BUDGET` matching rows the count stops and the
total is reported as not exact (null), rather than reading every row of a large table to say
how many there are. tests/test_counts.py proves each stored count equals what the filter lists.
"""

from dataclasses import dataclass

from peewee import fn

from api.store import models as m
from api.store.fastpath import first_row

BUDGET = 10_000  # rows counted at request time at most; past it the total is not exact


@dataclass(frozen=True)
class Counted:
    """What a single-column filter compares: `value`, a column, with the filter's value; `key`,
    the column naming the record the row belongs to (a link table names it by a foreign key)."""

    value: object
    key: object
    where: object = None

    def query(self, *columns):
        query = self.value.model.select(*columns)
        return query if self.where is None else query.where(self.where)


def _own(model, column):
    return [Counted(getattr(model, column), model.id)]


COUNTED_FILTERS = {
    "figures": {
        "unit": _own(m.Figure, "unit"),
        "qualifier": _own(m.Figure, "qualifier"),
        "subject": [Counted(m.FigureSubject.subject_id, m.FigureSubject.figure)],
        "source": [Counted(m.Citation.source, m.Citation.record_id, m.Citation.record_type == "figure")],
    },
    "events": {
        "kind": _own(m.Event, "kind"),
        "place": _own(m.Event, "place"),
        # An id names an organisation or a person, never both: the two counts add up.
        "participant": [
            Counted(m.EventParticipant.organisation, m.EventParticipant.event),
            Counted(m.EventParticipant.person, m.EventParticipant.event),
        ],
    },
    "programmes": {
        "kind": _own(m.Programme, "kind"),
        "parent": _own(m.Programme, "parent"),
        "operator": [Counted(m.ProgrammeOperator.organisation, m.ProgrammeOperator.programme)],
        "place": [Counted(m.ProgrammePlace.place, m.ProgrammePlace.programme)],
    },
    "organisations": {"kind": _own(m.Organisation, "kind"), "parent": _own(m.Organisation, "parent")},
    "places": {"kind": _own(m.Place, "kind"), "parent": _own(m.Place, "parent")},
    "people": {"organisation": [Counted(m.Affiliation.organisation, m.Affiliation.person)]},
    "sources": {},
}


def totals(counted):
    """{value: how many records have it} for one filter's [Counted]: counted by the database."""
    out = {}
    for spec in counted:
        for value, n in spec.query(spec.value, fn.COUNT(spec.key.distinct())).group_by(spec.value).tuples():
            if value is not None:
                out[value] = out.get(value, 0) + n
    return out


def values_of(counted, ids):
    """{record id: the values it has} for one filter's [Counted], of the records `ids` names."""
    out = {}
    ordered = sorted(ids)
    for spec in counted:
        for start in range(0, len(ordered), 500):
            for record_id, value in spec.query(spec.key, spec.value).where(spec.key.in_(ordered[start : start + 500])).tuples():
                if value is not None:
                    out.setdefault(record_id, set()).add(value)
    return out


def stored_total(collection, filters):
    """The total counted at load for these filters ({name: value}), or None if none was."""
    if len(filters) > 1:
        return None
    name, value = next(iter(filters.items()), ("", ""))
    if name and name not in COUNTED_FILTERS.get(collection, {}):
        return None
    row = first_row(m.ListCount, ("total",), ("collection", "filter", "value"), (collection, name, str(value)))
    return row[0] if row else 0  # a value counted at load and not found selects nothing


def stored_csv_bytes(collection):
    """The bytes of the CSV lines of a whole collection, as the load counted them, or None
    (a database loaded before 0009 was migrated in)."""
    where = (m.ListCount.collection == collection) & (m.ListCount.filter == "") & (m.ListCount.value == "")
    return m.ListCount.select(m.ListCount.csv_bytes).where(where).scalar()


def budgeted_total(query, budget=BUDGET):
    """(total, exact) of `query`'s rows, reading at most `budget` + 1 of them (peewee counts a
    limited query by wrapping it: SELECT COUNT(1) FROM (... LIMIT n))."""
    found = query.order_by().limit(budget + 1).count()
    return (found, True) if found <= budget else (None, False)
