"""Records as the API shows them: one row plus its relations, loaded in batches.

`represent(collection, rows)` turns a page of model rows into dicts with a fixed number
of queries per page (one per relation table), never one per row: no N+1.
"""

from collections import defaultdict
from decimal import Decimal

from api.store import models as m
from api.store.fastpath import as_sent, fetched


def ref(record_type, record_id, **extra):
    return {"type": record_type, "id": record_id, **extra}


def number(value):
    """A Decimal as a JSON number: an integer when whole."""
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def iso(value):
    return value.isoformat() if value is not None else None


def record_columns(model):
    """Every column of a record table, each named as the attribute of a model instance would be
    (a foreign key by its column: unit_id): rows come back as named tuples, since building a
    model instance per row costs more than the rest of representing it."""
    return [as_sent(field).alias(field.column_name) for field in model._meta.sorted_fields]


def grouped(query, key):
    out = defaultdict(list)
    for row in fetched(query):
        out[key(row)].append(row)
    return out


CITATION_COLUMNS = ("record_id", "source", "evidence", "span_start", "span_end", "context", "context_start", "context_end")


def citations(record_type, ids):
    rows = (
        m.Citation.select(*(as_sent(getattr(m.Citation, c)) for c in CITATION_COLUMNS))
        .where((m.Citation.record_type == record_type) & m.Citation.record_id.in_(ids))
        .order_by(m.Citation.position, m.Citation.id)
    )
    return grouped(rows.namedtuples(), lambda c: c.record_id)


def figures_about(record_type, ids):
    rows = (
        m.FigureSubject.select(as_sent(m.FigureSubject.subject_id), as_sent(m.FigureSubject.figure))
        .where((m.FigureSubject.subject_type == record_type) & m.FigureSubject.subject_id.in_(ids))
        .order_by(m.FigureSubject.figure)
    )
    return grouped(rows.namedtuples(), lambda s: s.subject_id)


def _positions(keys):
    """{(type, id): the record's place in the seeds} of the records `keys` name: one query a type."""
    out = {}
    for record_type in {t for t, _ in keys}:
        model = m.RECORD_MODELS[m.TYPE_COLLECTIONS[record_type]]
        wanted = sorted(i for t, i in keys if t == record_type)
        out.update({(record_type, i): p for i, p in model.select(model.id, model.position).where(model.id.in_(wanted)).tuples()})
    return out


def in_seed_order(groups, record_type, attr):
    """Each group's rows in the order the seeds give the records they name (`attr`): the order
    of the page, whatever order the links were written in (a load rewrites only what changed)."""
    positions = _positions({(record_type, getattr(row, attr)) for rows in groups.values() for row in rows})
    return {
        key: sorted(rows, key=lambda row: (positions.get((record_type, getattr(row, attr)), 0), getattr(row, attr))) for key, rows in groups.items()
    }


def _links(model, key, ids, *columns, order=None):
    """Rows of link table `model` whose `key` is one of `ids`: named tuples of `key` and
    `columns`, with no model instance made per row (most of what a page cost)."""
    key_field = getattr(model, key)
    query = model.select(as_sent(key_field), *(as_sent(getattr(model, c)) for c in columns)).where(key_field.in_(ids))
    return query.order_by(order if order is not None else model.id).namedtuples()


def common(row, record_type, cited):
    return {
        "id": row.id,
        "type": record_type,
        "name": {"ko": row.name_ko, "en": row.name_en, "en_translated": row.name_en_translated},
        "other_names": row.other_names or [],
        "note": row.note,
        "sources": [citation(c) for c in cited.get(row.id, [])],
    }


def citation(row):
    """A quote, where it stands in its source's page file, and the sentence around it."""
    context = None
    if row.context is not None:
        context = {"text": row.context, "start": row.context_start, "end": row.context_end}
    return {"source": row.source, "evidence": row.evidence, "start": row.span_start, "end": row.span_end, "context": context}


def benefits(items):
    """A programme's benefits, each with the schemes it is given through as references."""
    return [{**b, "programmes": [ref("programme", p) for p in b.get("programmes", [])]} for b in items or []]


def _figures(rows, ids):
    subjects = grouped(_links(m.FigureSubject, "figure", ids, "subject_type", "subject_id", order=m.FigureSubject.position), lambda s: s.figure)
    parts = grouped(_links(m.FigurePart, "whole", ids, "part", order=m.FigurePart.position), lambda p: p.whole)
    part_of = in_seed_order(grouped(_links(m.FigurePart, "part", ids, "whole"), lambda p: p.part), "figure", "whole")
    comparisons = grouped(_links(m.FigureComparison, "figure", ids, "kind", "base", "current"), lambda c: c.figure)
    checks = grouped(_links(m.FigureCheck, "figure", ids, "kind", "holds", "detail", order=m.FigureCheck.id), lambda c: c.figure)
    for row in rows:
        period = None
        if row.period_start or row.period_end:
            period = {"start": iso(row.period_start), "end": iso(row.period_end)}
        yield (
            row,
            {
                "value": number(row.value),
                "unit": row.unit_id,
                "value_text": row.value_text,
                "qualifier": row.qualifier,
                "period": period,
                "as_of": iso(row.as_of),
                "subjects": [ref(s.subject_type, s.subject_id) for s in subjects.get(row.id, [])],
                "parts": [ref("figure", p.part) for p in parts.get(row.id, [])],
                "part_of": [ref("figure", p.whole) for p in part_of.get(row.id, [])],
                "comparisons": [
                    {"kind": c.kind, "base": ref("figure", c.base), "current": ref("figure", c.current)} for c in comparisons.get(row.id, [])
                ],
                "checks": [{"kind": c.kind, "holds": c.holds, "detail": c.detail} for c in checks.get(row.id, [])],
                "discrepancy": row.discrepancy,
                "dated_from": ref("event", row.dated_from_id) if row.dated_from_id else None,
                "value_in_words": False,  # the seeds' value, from extra, when they give it
            },
        )


def _events(rows, ids):
    participants = grouped(
        _links(m.EventParticipant, "event", ids, "organisation", "person", "role", order=m.EventParticipant.position), lambda p: p.event
    )
    programmes = grouped(_links(m.EventProgramme, "event", ids, "programme", order=m.EventProgramme.position), lambda p: p.event)
    about = figures_about("event", ids)
    for row in rows:
        yield (
            row,
            {
                "kind": row.kind,
                "start_date": iso(row.start_date),
                "end_date": iso(row.end_date),
                "place": ref("place", row.place_id) if row.place_id else None,
                "participants": [
                    ref("organisation", p.organisation, role=p.role) if p.organisation else ref("person", p.person, role=p.role)
                    for p in participants.get(row.id, [])
                ],
                "programmes": [ref("programme", p.programme) for p in programmes.get(row.id, [])],
                "figures": [ref("figure", s.figure) for s in about.get(row.id, [])],
                "dated_from": ref("event", row.dated_from_id) if row.dated_from_id else None,
            },
        )


def _programmes(rows, ids):
    operators = grouped(
        _links(m.ProgrammeOperator, "programme", ids, "organisation", "role", order=m.ProgrammeOperator.position), lambda o: o.programme
    )
    places = grouped(_links(m.ProgrammePlace, "programme", ids, "place", order=m.ProgrammePlace.position), lambda p: p.programme)
    parts = grouped(_links(m.Programme, "parent", ids, "id", order=m.Programme.position), lambda p: p.parent)
    events = in_seed_order(grouped(_links(m.EventProgramme, "programme", ids, "event"), lambda e: e.programme), "event", "event")
    about = figures_about("programme", ids)
    for row in rows:
        yield (
            row,
            {
                "kind": row.kind,
                "parent": ref("programme", row.parent_id) if row.parent_id else None,
                "parts": [ref("programme", p.id) for p in parts.get(row.id, [])],
                "operators": [ref("organisation", o.organisation, role=o.role) for o in operators.get(row.id, [])],
                "places": [ref("place", p.place) for p in places.get(row.id, [])],
                "eligibility": row.eligibility,
                "benefits": benefits(row.benefits),
                "start_date": iso(row.start_date),
                "end_date": iso(row.end_date),
                "events": [ref("event", e.event) for e in events.get(row.id, [])],
                "figures": [ref("figure", s.figure) for s in about.get(row.id, [])],
            },
        )


def _organisations(rows, ids):
    children = grouped(_links(m.Organisation, "parent", ids, "id", order=m.Organisation.position), lambda o: o.parent)
    members = in_seed_order(
        grouped(_links(m.Affiliation, "organisation", ids, "person", "title_ko", "title_en"), lambda a: a.organisation), "person", "person"
    )
    about = figures_about("organisation", ids)
    for row in rows:
        yield (
            row,
            {
                "kind": row.kind,
                "parent": ref("organisation", row.parent_id) if row.parent_id else None,
                "children": [ref("organisation", c.id) for c in children.get(row.id, [])],
                "members": [ref("person", a.person, title=_title(a)) for a in members.get(row.id, [])],
                "figures": [ref("figure", s.figure) for s in about.get(row.id, [])],
            },
        )


def _title(affiliation):
    if affiliation.title_ko is None:
        return None
    return {"ko": affiliation.title_ko, "en": affiliation.title_en}


def _people(rows, ids):
    affiliations = grouped(
        _links(m.Affiliation, "person", ids, "organisation", "title_ko", "title_en", order=m.Affiliation.position), lambda a: a.person
    )
    events = grouped(_links(m.EventParticipant, "person", ids, "event", "role", order=m.EventParticipant.event), lambda p: p.person)
    for row in rows:
        yield (
            row,
            {
                "affiliations": [{"organisation": ref("organisation", a.organisation), "title": _title(a)} for a in affiliations.get(row.id, [])],
                "events": [ref("event", p.event, role=p.role) for p in events.get(row.id, [])],
            },
        )


def _places(rows, ids):
    children = grouped(_links(m.Place, "parent", ids, "id", order=m.Place.position), lambda p: p.parent)
    events = grouped(_links(m.Event, "place", ids, "id", order=m.Event.position), lambda e: e.place)
    programmes = in_seed_order(grouped(_links(m.ProgrammePlace, "place", ids, "programme"), lambda p: p.place), "programme", "programme")
    about = figures_about("place", ids)
    for row in rows:
        yield (
            row,
            {
                "kind": row.kind,
                "parent": ref("place", row.parent_id) if row.parent_id else None,
                "children": [ref("place", c.id) for c in children.get(row.id, [])],
                "events": [ref("event", e.id) for e in events.get(row.id, [])],
                "programmes": [ref("programme", p.programme) for p in programmes.get(row.id, [])],
                "figures": [ref("figure", s.figure) for s in about.get(row.id, [])],
            },
        )


def _sources(rows, ids):
    cites = grouped(_links(m.Citation, "source", ids, "record_type", "record_id"), lambda c: c.source)
    positions = _positions({(c.record_type, c.record_id) for found in cites.values() for c in found})
    for row in rows:
        # In the order of the seeds, whatever order the quotes were written in.
        cited = sorted({(c.record_type, c.record_id) for c in cites.get(row.id, [])}, key=lambda key: (positions.get(key, 0), key))
        seen = [ref(record_type, record_id) for record_type, record_id in cited]
        yield (
            row,
            {
                "headline": row.name_ko,
                "subheadlines": row.subheadlines or [],
                "publication": ref("organisation", row.publication_id),
                "byline": row.byline,
                "author": ref("person", row.author_id) if row.author_id else None,
                "published_on": iso(row.published_on),
                "page_position": row.page_position,
                "records": seen,
                "page": None,  # the seeds' page (file, sha256, lines), from extra; none for synthetic data
            },
        )


SHAPERS = {
    "figures": _figures,
    "events": _events,
    "programmes": _programmes,
    "organisations": _organisations,
    "people": _people,
    "places": _places,
    "sources": _sources,
}


def represent(collection, rows, ids=None):
    """Dicts for `rows` (of `collection`, selected with `record_columns`), relations included. `ids` may be
    a subquery selecting the same rows' ids: a long list of ids costs more to send than the
    database takes to find them again."""
    rows = list(rows)
    if not rows:
        return []
    if ids is None:
        ids = [row.id for row in rows]
    record_type = m.RECORD_TYPES[collection]
    cited = citations(record_type, ids)
    return [{**common(row, record_type, cited), **shaped, **(row.extra or {})} for row, shaped in SHAPERS[collection](rows, ids)]


def collect_refs(value, into):
    """Every record reference inside a represented field."""
    if isinstance(value, dict):
        if "type" in value and "id" in value and value["type"] in m.TYPE_COLLECTIONS:
            into.append({"type": value["type"], "id": value["id"]})
        elif "source" in value and "evidence" in value:
            into.append({"type": "source", "id": value["source"]})
        for child in value.values():
            if isinstance(child, dict | list):
                collect_refs(child, into)
    elif isinstance(value, list):
        for child in value:
            collect_refs(child, into)
    return into


def fetch(refs):
    """The records named by [{"type", "id"}], represented, in a stable order."""
    wanted = defaultdict(set)
    for item in refs:
        wanted[m.TYPE_COLLECTIONS[item["type"]]].add(item["id"])
    out = []
    for collection in m.RECORD_MODELS:
        if collection in wanted:
            model = m.RECORD_MODELS[collection]
            rows = model.select(*record_columns(model)).where(model.id.in_(sorted(wanted[collection]))).order_by(model.id).namedtuples()
            out.extend(represent(collection, rows))
    return out
