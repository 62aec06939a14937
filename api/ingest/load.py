"""Write a validated `SeedSet` into the database, replacing what was there, in one transaction.

Replacing everything (rather than upserting) is what makes a load idempotent and makes a
record removed from the seeds disappear; the transaction makes readers see either the old
dataset or the new one, never a mix.
"""

import datetime

from api.ingest.compile import compile_all
from api.ingest.index import index_rows, search_rows
from api.registry import RECORD_TYPES
from api.store import models as m
from api.store.fastpath import insert_rows


def _name(data):
    name = data["name"]
    return {"name_ko": name["ko"], "name_en": name["en"], "name_en_translated": name["en_translated"]}


# Seed fields written as links (their own tables) or spread over several columns.
LINKED = {"name", "sources", "affiliations", "operators", "places", "participants", "programmes", "subjects", "parts", "comparisons", "period"}


def _record(entry, position, **fields):
    data = entry.data
    model = m.RECORD_MODELS[entry.section]
    extra = {key: value for key, value in data.items() if key not in LINKED and key not in model._meta.fields}
    return {
        "id": data["id"],
        **_name(data),
        "other_names": data["other_names"],
        "note": data.get("note"),
        "position": position,
        "extra": extra or None,
        **fields,
    }


def _rows(seeds):
    """{model: [row dicts]} for every table, parents left out (set in a second pass)."""
    rows = {model: [] for model in m.ALL_MODELS}
    rows[m.Unit] = [
        {"code": u["code"], "label_ko": u["ko"], "label_en": u["en"], "note": u.get("note"), "position": i} for i, u in enumerate(seeds.units)
    ]
    rows[m.Term] = [
        {"scheme": scheme, "code": t["code"], "label_ko": t["ko"], "label_en": t["en"], "position": i}
        for scheme, terms in seeds.terms.items()
        for i, t in enumerate(terms)
    ]
    for position, entry in enumerate(seeds.entries.values()):
        d = entry.data
        if entry.section == "sources":
            rows[m.Source].append(
                _record(
                    entry,
                    position,
                    publication=d["publication"],
                    subheadlines=d["subheadlines"],
                    byline=d["byline"],
                    author=d["author"],
                    published_on=d["published_on"],
                    page_position=d["page_position"],
                )
            )
        elif entry.section in ("organisations", "places"):
            model = m.Organisation if entry.section == "organisations" else m.Place
            rows[model].append(_record(entry, position, kind=d["kind"], parent=None))
        elif entry.section == "people":
            rows[m.Person].append(_record(entry, position))
            rows[m.Affiliation] += [
                {
                    "person": d["id"],
                    "organisation": a["organisation"],
                    "position": i,
                    "title_ko": (a.get("title") or {}).get("ko"),
                    "title_en": (a.get("title") or {}).get("en"),
                }
                for i, a in enumerate(d["affiliations"])
            ]
        elif entry.section == "programmes":
            rows[m.Programme].append(
                _record(
                    entry,
                    position,
                    kind=d["kind"],
                    parent=None,
                    eligibility=d["eligibility"],
                    benefits=d["benefits"],
                    start_date=d["start_date"],
                    end_date=d["end_date"],
                )
            )
            rows[m.ProgrammeOperator] += [
                {"programme": d["id"], "organisation": o["organisation"], "role": o["role"], "position": i} for i, o in enumerate(d["operators"])
            ]
            rows[m.ProgrammePlace] += [{"programme": d["id"], "place": p, "position": i} for i, p in enumerate(d["places"])]
        elif entry.section == "events":
            rows[m.Event].append(
                _record(
                    entry,
                    position,
                    kind=d["kind"],
                    start_date=d["start_date"],
                    end_date=d["end_date"],
                    place=d["place"],
                )
            )
            rows[m.EventParticipant] += [
                {"event": d["id"], "organisation": p["organisation"], "person": p["person"], "role": p["role"], "position": i}
                for i, p in enumerate(d["participants"])
            ]
            rows[m.EventProgramme] += [{"event": d["id"], "programme": p, "position": i} for i, p in enumerate(d["programmes"])]
        elif entry.section == "figures":
            period = d["period"] or {}
            rows[m.Figure].append(
                _record(
                    entry,
                    position,
                    value=d["value"],
                    unit=d["unit"],
                    value_text=d["value_text"],
                    qualifier=d["qualifier"],
                    period_start=period.get("start"),
                    period_end=period.get("end"),
                    as_of=d["as_of"],
                    discrepancy=d["discrepancy"],
                )
            )
            rows[m.FigureSubject] += [
                {"figure": d["id"], "subject_type": m.RECORD_TYPES[seeds.entries[s].section], "subject_id": s, "position": i}
                for i, s in enumerate(d["subjects"])
            ]
            rows[m.FigurePart] += [{"whole": d["id"], "part": p, "position": i} for i, p in enumerate(d["parts"])]
            rows[m.FigureComparison] += [{"figure": d["id"], "kind": c["kind"], "base": c["base"], "current": c["current"]} for c in d["comparisons"]]
        record_type = m.RECORD_TYPES[entry.section]
        rows[m.Citation] += [
            {"record_type": record_type, "record_id": d["id"], "source": c["source"], "evidence": c["evidence"], "position": i}
            for i, c in enumerate(d["sources"])
        ]
    cited = {}
    for _, _, c in seeds.citations:
        entry = seeds.entries[c["record"]]
        position = len(entry.data["sources"]) + cited.get(c["record"], 0)
        cited[c["record"]] = cited.get(c["record"], 0) + 1
        rows[m.Citation].append(
            {
                "record_type": m.RECORD_TYPES[entry.section],
                "record_id": c["record"],
                "source": c["source"],
                "evidence": c["evidence"],
                "position": position,
            }
        )
    rows[m.FigureCheck] = [{"figure": figure_id, "kind": r.kind, "holds": r.holds, "detail": r.detail} for figure_id, r in seeds.checks]
    rows[m.SearchEntry] = search_rows(seeds)
    tokens, token_grams, postings = index_rows(rows[m.SearchEntry])
    rows[m.SearchToken] = [dict(zip(("id", "kind", "token"), t, strict=True)) for t in tokens]
    rows[m.SearchTokenGram] = [dict(zip(("gram", "token"), g, strict=True)) for g in token_grams]
    rows[m.SearchPosting] = [dict(zip(("token", "weight", "records"), p, strict=True)) for p in postings]
    return rows


def now():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)


def load(seeds, database, progress=None):
    """Replace the database's content with `seeds`, all or nothing, and compile what the API
    serves from it (api/ingest/compile.py). Returns the Dataset row. `progress(stage, done,
    total)`, if given, hears how far the load has got."""
    rows = _rows(seeds)
    with database.atomic():
        for model in reversed(m.ALL_MODELS):
            model.delete().execute()
        for model in m.ALL_MODELS:
            insert_rows(database, model, rows[model])
        if progress is not None:
            progress("written", len(seeds.entries), len(seeds.entries))
        for entry in seeds.entries.values():
            parent = entry.data.get("parent")
            if parent and entry.section in ("organisations", "places", "programmes"):
                model = {"organisations": m.Organisation, "places": m.Place, "programmes": m.Programme}[entry.section]
                model.update(parent=parent).where(model.id == entry.data["id"]).execute()
        dataset = m.Dataset.create(version=seeds.version, loaded_at=now())
        compile_all(database, dataset, RECORD_TYPES, progress)
        return dataset
