"""How many rows a list has, without the cost growing with the table.

The total of a whole collection, and of each value of each of its single-column filters
(`COUNTED_FILTERS`: the filters of api/web/resources that compare one column, or one link, with
one value), are counted at load (api/ingest/compile.py) and looked up. Any other combination
is counted at request time under a budget: past `BUDGET` matching rows the count stops and the
total is reported as not exact (null), rather than reading every row of a large table to say
how many there are. tests/test_counts.py proves each stored count equals what the filter lists.
"""

from peewee import fn

from api.store import models as m

BUDGET = 10_000  # rows counted at request time at most; past it the total is not exact


def _grouped(column, *where, key=None):
    """(value, count) of the rows of `column`'s table, per value of `column`: of distinct `key`s
    (a link table counts the records it links, once each)."""
    table = column.model
    counted = fn.COUNT(key.distinct()) if key is not None else fn.COUNT(table._meta.primary_key)
    query = table.select(column, counted)
    for condition in where:
        query = query.where(condition)
    return list(query.group_by(column).tuples())


def _participants():
    link = m.EventParticipant
    counts = {}
    for column in (link.organisation, link.person):
        for value, n in _grouped(column, key=link.event):
            if value is not None:
                counts[value] = counts.get(value, 0) + n  # an id names an organisation or a person, never both
    return list(counts.items())


COUNTED_FILTERS = {
    "figures": {
        "unit": lambda: _grouped(m.Figure.unit),
        "qualifier": lambda: _grouped(m.Figure.qualifier),
        "subject": lambda: _grouped(m.FigureSubject.subject_id, key=m.FigureSubject.figure),
        "source": lambda: _grouped(m.Citation.source, m.Citation.record_type == "figure", key=m.Citation.record_id),
    },
    "events": {
        "kind": lambda: _grouped(m.Event.kind),
        "place": lambda: _grouped(m.Event.place),
        "participant": _participants,
    },
    "programmes": {
        "kind": lambda: _grouped(m.Programme.kind),
        "parent": lambda: _grouped(m.Programme.parent),
        "operator": lambda: _grouped(m.ProgrammeOperator.organisation, key=m.ProgrammeOperator.programme),
        "place": lambda: _grouped(m.ProgrammePlace.place, key=m.ProgrammePlace.programme),
    },
    "organisations": {
        "kind": lambda: _grouped(m.Organisation.kind),
        "parent": lambda: _grouped(m.Organisation.parent),
    },
    "places": {
        "kind": lambda: _grouped(m.Place.kind),
        "parent": lambda: _grouped(m.Place.parent),
    },
    "people": {
        "organisation": lambda: _grouped(m.Affiliation.organisation, key=m.Affiliation.person),
    },
    "sources": {},
}


def stored_total(collection, filters):
    """The total counted at load for these filters ({name: value}), or None if none was."""
    if len(filters) > 1:
        return None
    name, value = next(iter(filters.items()), ("", ""))
    if name and name not in COUNTED_FILTERS.get(collection, {}):
        return None
    row = (
        m.ListCount.select(m.ListCount.total)
        .where((m.ListCount.collection == collection) & (m.ListCount.filter == name) & (m.ListCount.value == str(value)))
        .tuples()
        .first()
    )
    return row[0] if row else 0  # a value counted at load and not found selects nothing


def budgeted_total(query, budget=BUDGET):
    """(total, exact) of `query`'s rows, reading at most `budget` + 1 of them (peewee counts a
    limited query by wrapping it: SELECT COUNT(1) FROM (... LIMIT n))."""
    found = query.order_by().limit(budget + 1).count()
    return (found, True) if found <= budget else (None, False)
