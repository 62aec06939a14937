"""Records as the API shows them: one row plus its relations, loaded in batches.

`represent(collection, rows)` turns a page of model rows into dicts with a fixed number
of queries per page (one per relation table), never one per row: no N+1.
"""

from collections import defaultdict
from decimal import Decimal

from api import models as m


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


def grouped(query, key):
    out = defaultdict(list)
    for row in query:
        out[key(row)].append(row)
    return out


def citations(record_type, ids):
    rows = (
        m.Citation.select()
        .where((m.Citation.record_type == record_type) & m.Citation.record_id.in_(ids))
        .order_by(m.Citation.position, m.Citation.id)
    )
    return grouped(rows, lambda c: c.record_id)


def figures_about(record_type, ids):
    rows = (
        m.FigureSubject.select(m.FigureSubject.subject_id, m.FigureSubject.figure)
        .where((m.FigureSubject.subject_type == record_type) & m.FigureSubject.subject_id.in_(ids))
        .order_by(m.FigureSubject.figure)
    )
    return grouped(rows, lambda s: s.subject_id)


def common(row, record_type, cited):
    return {
        "id": row.id,
        "type": record_type,
        "name": {"ko": row.name_ko, "en": row.name_en, "en_translated": row.name_en_translated},
        "other_names": row.other_names or [],
        "note": row.note,
        "sources": [{"source": c.source_id, "evidence": c.evidence} for c in cited.get(row.id, [])],
    }


def _figures(rows, ids):
    subjects = grouped(
        m.FigureSubject.select().where(m.FigureSubject.figure.in_(ids)).order_by(m.FigureSubject.position),
        lambda s: s.figure_id,
    )
    parts = grouped(
        m.FigurePart.select().where(m.FigurePart.whole.in_(ids)).order_by(m.FigurePart.position),
        lambda p: p.whole_id,
    )
    part_of = grouped(m.FigurePart.select().where(m.FigurePart.part.in_(ids)), lambda p: p.part_id)
    comparisons = grouped(m.FigureComparison.select().where(m.FigureComparison.figure.in_(ids)), lambda c: c.figure_id)
    checks = grouped(m.FigureCheck.select().where(m.FigureCheck.figure.in_(ids)).order_by(m.FigureCheck.id), lambda c: c.figure_id)
    for row in rows:
        period = None
        if row.period_start or row.period_end:
            period = {"start": iso(row.period_start), "end": iso(row.period_end)}
        yield row, {
            "value": number(row.value),
            "unit": row.unit_id,
            "value_text": row.value_text,
            "qualifier": row.qualifier,
            "period": period,
            "as_of": iso(row.as_of),
            "subjects": [ref(s.subject_type, s.subject_id) for s in subjects.get(row.id, [])],
            "parts": [ref("figure", p.part_id) for p in parts.get(row.id, [])],
            "part_of": [ref("figure", p.whole_id) for p in part_of.get(row.id, [])],
            "comparisons": [
                {"kind": c.kind, "base": ref("figure", c.base_id), "current": ref("figure", c.current_id)}
                for c in comparisons.get(row.id, [])
            ],
            "checks": [{"kind": c.kind, "holds": c.holds, "detail": c.detail} for c in checks.get(row.id, [])],
            "discrepancy": row.discrepancy,
        }


def _events(rows, ids):
    participants = grouped(
        m.EventParticipant.select().where(m.EventParticipant.event.in_(ids)).order_by(m.EventParticipant.position),
        lambda p: p.event_id,
    )
    programmes = grouped(
        m.EventProgramme.select().where(m.EventProgramme.event.in_(ids)).order_by(m.EventProgramme.position),
        lambda p: p.event_id,
    )
    about = figures_about("event", ids)
    for row in rows:
        yield row, {
            "kind": row.kind,
            "start_date": iso(row.start_date),
            "end_date": iso(row.end_date),
            "place": ref("place", row.place_id) if row.place_id else None,
            "participants": [
                ref("organisation", p.organisation_id, role=p.role) if p.organisation_id else ref("person", p.person_id, role=p.role)
                for p in participants.get(row.id, [])
            ],
            "programmes": [ref("programme", p.programme_id) for p in programmes.get(row.id, [])],
            "figures": [ref("figure", s.figure_id) for s in about.get(row.id, [])],
        }


def _programmes(rows, ids):
    operators = grouped(
        m.ProgrammeOperator.select().where(m.ProgrammeOperator.programme.in_(ids)).order_by(m.ProgrammeOperator.position),
        lambda o: o.programme_id,
    )
    places = grouped(
        m.ProgrammePlace.select().where(m.ProgrammePlace.programme.in_(ids)).order_by(m.ProgrammePlace.position),
        lambda p: p.programme_id,
    )
    parts = grouped(
        m.Programme.select(m.Programme.id, m.Programme.parent).where(m.Programme.parent.in_(ids)).order_by(m.Programme.position),
        lambda p: p.parent_id,
    )
    events = grouped(m.EventProgramme.select().where(m.EventProgramme.programme.in_(ids)), lambda e: e.programme_id)
    about = figures_about("programme", ids)
    for row in rows:
        yield row, {
            "kind": row.kind,
            "parent": ref("programme", row.parent_id) if row.parent_id else None,
            "parts": [ref("programme", p.id) for p in parts.get(row.id, [])],
            "operators": [ref("organisation", o.organisation_id, role=o.role) for o in operators.get(row.id, [])],
            "places": [ref("place", p.place_id) for p in places.get(row.id, [])],
            "eligibility": row.eligibility,
            "benefits": row.benefits or [],
            "start_date": iso(row.start_date),
            "end_date": iso(row.end_date),
            "events": [ref("event", e.event_id) for e in events.get(row.id, [])],
            "figures": [ref("figure", s.figure_id) for s in about.get(row.id, [])],
        }


def _organisations(rows, ids):
    children = grouped(
        m.Organisation.select(m.Organisation.id, m.Organisation.parent).where(m.Organisation.parent.in_(ids)).order_by(m.Organisation.position),
        lambda o: o.parent_id,
    )
    members = grouped(m.Affiliation.select().where(m.Affiliation.organisation.in_(ids)).order_by(m.Affiliation.id), lambda a: a.organisation_id)
    about = figures_about("organisation", ids)
    for row in rows:
        yield row, {
            "kind": row.kind,
            "parent": ref("organisation", row.parent_id) if row.parent_id else None,
            "children": [ref("organisation", c.id) for c in children.get(row.id, [])],
            "members": [ref("person", a.person_id, title=_title(a)) for a in members.get(row.id, [])],
            "figures": [ref("figure", s.figure_id) for s in about.get(row.id, [])],
        }


def _title(affiliation):
    if affiliation.title_ko is None:
        return None
    return {"ko": affiliation.title_ko, "en": affiliation.title_en}


def _people(rows, ids):
    affiliations = grouped(
        m.Affiliation.select().where(m.Affiliation.person.in_(ids)).order_by(m.Affiliation.position), lambda a: a.person_id
    )
    events = grouped(
        m.EventParticipant.select().where(m.EventParticipant.person.in_(ids)).order_by(m.EventParticipant.event), lambda p: p.person_id
    )
    for row in rows:
        yield row, {
            "affiliations": [
                {"organisation": ref("organisation", a.organisation_id), "title": _title(a)} for a in affiliations.get(row.id, [])
            ],
            "events": [ref("event", p.event_id, role=p.role) for p in events.get(row.id, [])],
        }


def _places(rows, ids):
    children = grouped(
        m.Place.select(m.Place.id, m.Place.parent).where(m.Place.parent.in_(ids)).order_by(m.Place.position), lambda p: p.parent_id
    )
    events = grouped(m.Event.select(m.Event.id, m.Event.place).where(m.Event.place.in_(ids)).order_by(m.Event.position), lambda e: e.place_id)
    programmes = grouped(m.ProgrammePlace.select().where(m.ProgrammePlace.place.in_(ids)), lambda p: p.place_id)
    about = figures_about("place", ids)
    for row in rows:
        yield row, {
            "kind": row.kind,
            "parent": ref("place", row.parent_id) if row.parent_id else None,
            "children": [ref("place", c.id) for c in children.get(row.id, [])],
            "events": [ref("event", e.id) for e in events.get(row.id, [])],
            "programmes": [ref("programme", p.programme_id) for p in programmes.get(row.id, [])],
            "figures": [ref("figure", s.figure_id) for s in about.get(row.id, [])],
        }


def _sources(rows, ids):
    cites = grouped(
        m.Citation.select(m.Citation.source, m.Citation.record_type, m.Citation.record_id)
        .where(m.Citation.source.in_(ids))
        .order_by(m.Citation.id),
        lambda c: c.source_id,
    )
    for row in rows:
        seen = []
        for c in cites.get(row.id, []):
            item = ref(c.record_type, c.record_id)
            if item not in seen:
                seen.append(item)
        yield row, {
            "headline": row.name_ko,
            "subheadlines": row.subheadlines or [],
            "publication": ref("organisation", row.publication_id),
            "byline": row.byline,
            "author": ref("person", row.author_id) if row.author_id else None,
            "published_on": iso(row.published_on),
            "page_position": row.page_position,
            "records": seen,
        }


SHAPERS = {
    "figures": _figures,
    "events": _events,
    "programmes": _programmes,
    "organisations": _organisations,
    "people": _people,
    "places": _places,
    "sources": _sources,
}


def represent(collection, rows):
    """Dicts for `rows` (model instances of `collection`), relations included."""
    rows = list(rows)
    if not rows:
        return []
    ids = [row.id for row in rows]
    record_type = m.RECORD_TYPES[collection]
    cited = citations(record_type, ids)
    return [{**common(row, record_type, cited), **extra} for row, extra in SHAPERS[collection](rows, ids)]


def fetch(refs):
    """The records named by [{"type", "id"}], represented, in a stable order."""
    wanted = defaultdict(set)
    for item in refs:
        wanted[m.TYPE_COLLECTIONS[item["type"]]].add(item["id"])
    out = []
    for collection in m.RECORD_MODELS:
        if collection in wanted:
            model = m.RECORD_MODELS[collection]
            rows = model.select().where(model.id.in_(sorted(wanted[collection]))).order_by(model.id)
            out.extend(represent(collection, rows))
    return out
