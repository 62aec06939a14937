"""Write a validated `SeedSet` into the database, in one transaction, as a new version of the
dataset: all or nothing, and only what changed.

A load finds what the seeds change by comparing each record's `seed_hash` (a hash of what its
seeds say: its entry, the quotes other files cite for it, its arithmetic checks) with the one
its document holds. The records that changed, came or went are written (their rows, links,
quotes and search texts); then the documents of those records and of every record theirs name
(old or new) are compiled again (api/ingest/compile.py), and each document that differs is
what the version changed. A first load, a change of the compiler's format, or a change of most
records writes everything afresh instead. A load that changes nothing publishes no version.

The version, its counts and its changes are kept (Dataset, RecordChange): the change feed and
each record's history (api/query/history.py). The downloads of the new version are built after
the load commits, in a transaction of their own: until then they answer 503.

Readers see the old dataset or the new one, never a mix: the load is one transaction, and
every request reads in one snapshot.

Loads run one at a time (`one_load_at_a_time`): two at once on PostgreSQL would each see the
other's word index half written and keep both's rows, and on SQLite the second would fail
part-way with "database is locked". A second load is refused at once, with LoadBusy.
"""

import contextlib
import datetime
import fcntl
import hashlib

import orjson
from peewee import OperationalError

from api.ingest import compile as compiler
from api.ingest.index import index_rows, keep_rankings, search_rows, update_index
from api.query import search_index
from api.query.records import collect_refs
from api.registry import RECORD_TYPES
from api.store import models as m
from api.store.db import is_postgres, plan_each_statement
from api.store.fastpath import insert_rows

# The tables a load writes from the seeds, in dependency order (what a table refers to first).
RELATIONAL = [m.Unit, m.Term, m.Person, m.Organisation, m.Place, m.Source, m.Programme, m.Event, m.Figure, *m.LINK_MODELS]
# The links each record type owns: written and dropped with the record.
OWNED = {
    "people": [(m.Affiliation, "person")],
    "programmes": [(m.ProgrammeOperator, "programme"), (m.ProgrammePlace, "programme")],
    "events": [(m.EventParticipant, "event"), (m.EventProgramme, "event")],
    "figures": [(m.FigureSubject, "figure"), (m.FigurePart, "whole"), (m.FigureComparison, "figure"), (m.FigureCheck, "figure")],
}
PARENTED = {"organisations": m.Organisation, "places": m.Place, "programmes": m.Programme}


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


def _span(citation):
    """A citation's place in its page and its sentence (api/ingest/evidence.py found them)."""
    span = citation["span"]
    context = span.context
    return {
        "span_start": span.start,
        "span_end": span.end,
        "context": context["text"],
        "context_start": context["start"],
        "context_end": context["end"],
    }


def _rows(seeds, only=None):
    """{model: [row dicts]} of the records (all, or those whose ids are in `only`), their links
    and the vocabularies; parents left out (set in a second pass, once every record is in)."""
    rows = {model: [] for model in RELATIONAL}
    rows[m.Unit] = [
        {"code": u["code"], "label_ko": u["ko"], "label_en": u["en"], "note": u.get("note"), "position": i} for i, u in enumerate(seeds.units)
    ]
    rows[m.Term] = [
        {"scheme": scheme, "code": t["code"], "label_ko": t["ko"], "label_en": t["en"], "position": i}
        for scheme, terms in seeds.terms.items()
        for i, t in enumerate(terms)
    ]
    for position, entry in enumerate(seeds.entries.values()):
        if only is not None and entry.data["id"] not in only:
            continue
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
                    dated_from=None,  # an event: set in a second pass, as parents are
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
                    dated_from=d["dated_from"],
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
            {"record_type": record_type, "record_id": d["id"], "source": c["source"], "evidence": c["evidence"], "position": i, **_span(c)}
            for i, c in enumerate(d["sources"])
        ]
    cited = {}
    for _, _, c in seeds.citations:
        if only is not None and c["record"] not in only:
            continue
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
                **_span(c),
            }
        )
    rows[m.FigureCheck] = [
        {"figure": figure_id, "kind": r.kind, "holds": r.holds, "detail": r.detail}
        for figure_id, r in seeds.checks
        if only is None or figure_id in only
    ]
    return rows


def now():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)


def _hash(value):
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()[:32]


def seed_hashes(seeds):
    """{(type, id): a hash of everything the seeds say of the record}: its entry, the quotes
    other files cite for it, the results of its arithmetic checks."""
    cited, checks = {}, {}
    for _, _, citation in seeds.citations:
        cited.setdefault(citation["record"], []).append(citation)
    for figure_id, result in seeds.checks:
        checks.setdefault(figure_id, []).append([result.kind, result.holds, result.detail])
    return {
        (m.RECORD_TYPES[entry.section], record_id): _hash([entry.data, cited.get(record_id, []), checks.get(record_id, [])])
        for record_id, entry in seeds.entries.items()
    }


def _current():
    return m.Dataset.select().order_by(m.Dataset.id.desc()).first()


def _unique_version(version):
    """The seeds' hash, or, when an earlier version had the same seeds, the same with a number."""
    taken = {v for (v,) in m.Dataset.select(m.Dataset.version).where(m.Dataset.version.startswith(version)).tuples()}
    if version not in taken:
        return version
    n = 2
    while f"{version}-{n}" in taken:
        n += 1
    return f"{version}-{n}"


def _refs(bodies):
    """The (type, id) of every record the given record JSONs name."""
    found = []
    for body in bodies:
        collect_refs(orjson.loads(body), found)
    return {(ref["type"], ref["id"]) for ref in found}


def _vocabulary_differs(rows):
    for model, order in ((m.Unit, m.Unit.position), (m.Term, m.Term.position)):
        names = list(rows[model][0]) if rows[model] else []
        stored = [{name: getattr(row, name) for name in names} for row in model.select().order_by(order)]
        if sorted(map(repr, stored)) != sorted(map(repr, rows[model])):
            return True
    return False


def _write_vocabulary(database, rows):
    """Units and terms as the seeds give them: updated in place, since figures refer to units."""
    for model, key in ((m.Unit, ("code",)), (m.Term, ("scheme", "code"))):
        existing = {tuple(r) for r in model.select(*(getattr(model, k) for k in key)).tuples()}
        wanted = {tuple(row[k] for k in key) for row in rows[model]}
        fresh = [row for row in rows[model] if tuple(row[k] for k in key) not in existing]
        kept = [row for row in rows[model] if tuple(row[k] for k in key) in existing]
        insert_rows(database, model, fresh)
        for row in kept:
            condition = None
            for k in key:
                part = getattr(model, k) == row[k]
                condition = part if condition is None else condition & part
            model.update(**{k: v for k, v in row.items() if k not in key}).where(condition).execute()
        for gone in existing - wanted:
            condition = None
            for k, value in zip(key, gone, strict=True):
                part = getattr(model, k) == value
                condition = part if condition is None else condition & part
            model.delete().where(condition).execute()


def _write_all(database, seeds, rows):
    """Every table written afresh (a first load, a new compiler format, or most records changed)."""
    for model in [*reversed(m.SEARCH_MODELS), *reversed(RELATIONAL)]:
        model.delete().execute()
    for model in RELATIONAL:
        insert_rows(database, model, rows[model])
    _set_parents(seeds, seeds.entries)


def _set_parents(seeds, record_ids):
    for record_id in record_ids:
        entry = seeds.entries[record_id]
        if entry.section in PARENTED:
            model = PARENTED[entry.section]
            model.update(parent=entry.data.get("parent")).where(model.id == record_id).execute()
        if entry.section == "events" and entry.data["dated_from"]:  # an announcement is an event: set once all are in
            m.Event.update(dated_from=entry.data["dated_from"]).where(m.Event.id == record_id).execute()


def _write_changed(database, seeds, rows, touched, gone):
    """Only the records in `touched` ((type, id), present in the seeds) and `gone` (no longer):
    their rows replaced, their links, quotes and search texts dropped and written again."""
    by_collection = {}
    for record_type, record_id in touched | gone:
        by_collection.setdefault(m.TYPE_COLLECTIONS[record_type], set()).add(record_id)
    for collection, ids in by_collection.items():
        record_type, id_list = m.RECORD_TYPES[collection], sorted(ids)
        for link, owner in OWNED.get(collection, []):
            link.delete().where(getattr(link, owner).in_(id_list)).execute()
        m.Citation.delete().where((m.Citation.record_type == record_type) & m.Citation.record_id.in_(id_list)).execute()
    present = {record_id for _, record_id in touched}
    for model in RELATIONAL[2:9]:  # the record tables, in dependency order
        collection = model.collection
        mine = [row for row in rows[model] if row["id"] in by_collection.get(collection, set())]
        existing = {r for (r,) in model.select(model.id).where(model.id.in_([row["id"] for row in mine])).tuples()} if mine else set()
        insert_rows(database, model, [row for row in mine if row["id"] not in existing])
        for row in mine:
            if row["id"] in existing:
                model.update(**{k: v for k, v in row.items() if k != "id"}).where(model.id == row["id"]).execute()
    _set_parents(seeds, sorted(present))
    for collection, ids in by_collection.items():
        model = m.RECORD_MODELS[collection]
        removed = sorted(ids - present)
        if removed:
            model.delete().where(model.id.in_(removed)).execute()
    for collection, ids in by_collection.items():
        for link, owner in OWNED.get(collection, []):
            insert_rows(database, link, [row for row in rows[link] if row[owner] in ids and row[owner] in present])
    insert_rows(database, m.Citation, [row for row in rows[m.Citation] if (row["record_type"], row["record_id"]) in touched])


def _move(database, seeds, touched):
    """Put the records the seeds list in another place (and that did not change) where they now are."""
    moved = 0
    positions = {record_id: position for position, record_id in enumerate(seeds.entries)}
    for model in RELATIONAL[2:9]:
        for record_id, stored in database.execute_sql(f'SELECT "id", "position" FROM "{model._meta.table_name}"').fetchall():
            position = positions.get(record_id)
            if position is not None and position != stored and (model.record_type, record_id) not in touched:
                model.update(position=position).where(model.id == record_id).execute()
                moved += 1
    return moved


def _stored(database):
    """{(type, id): (seed hash, record number)} of every document there is: one read, as the
    driver sends it (at 10^6 records, peewee's row by row conversion was seconds of a load)."""
    cursor = database.execute_sql('SELECT "record_type", "record_id", "seed_hash", "record_no" FROM "document"')
    return {(record_type, record_id): (seed_hash, number) for record_type, record_id, seed_hash, number in cursor.fetchall()}


def _numbers(keys, fresh, stored):
    """{(type, id): record number}: a record keeps the number it has (so the word index need not
    change for it); a new one gets the next of its type. Afresh, every record is numbered by rank."""
    if fresh:
        numbers = {}
        for record_type in m.RECORD_TYPES.values():
            numbers.update({(record_type, record_id): n for record_id, n in compiler.rank_numbers(record_type).items()})
        return numbers
    numbers = {key: number for key, (_, number) in stored.items() if key in keys}
    top = {}
    for (record_type, _), number in numbers.items():
        top[record_type] = max(top.get(record_type, number), number)
    for key in sorted(keys - set(numbers)):
        record_type = key[0]
        base = search_index.record_number(record_type, 0)
        top[record_type] = top.get(record_type, base - 1) + 1
        numbers[key] = top[record_type]
    return numbers


def _index(database, seeds, numbers, touched, gone, fresh):
    """The word index: built afresh, or changed for the records touched and gone."""
    entries = search_rows(seeds, numbers, None if fresh else {record_id for _, record_id in touched})
    if fresh:
        insert_rows(database, m.SearchEntry, entries)
        tokens, token_grams, postings = index_rows(entries)
        insert_rows(database, m.SearchToken, [dict(zip(("id", "kind", "token"), x, strict=True)) for x in tokens])
        insert_rows(database, m.SearchTokenGram, [dict(zip(("gram", "token"), x, strict=True)) for x in token_grams])
        insert_rows(database, m.SearchPosting, [dict(zip(("token", "weight", "records"), x, strict=True)) for x in postings])
        keep_rankings(database)
        return
    entry = m.SearchEntry
    changed = sorted(touched | gone)
    old = {}
    for start in range(0, len(changed), 500):
        part = changed[start : start + 500]
        condition = None
        for record_type in {t for t, _ in part}:
            ids = [i for t, i in part if t == record_type]
            clause = (entry.record_type == record_type) & entry.record_id.in_(ids)
            condition = clause if condition is None else condition | clause
        for record_no, weight, folded in entry.select(entry.record_no, entry.weight, entry.folded).where(condition).tuples():
            old.setdefault(record_no, []).append((weight, folded))
        entry.delete().where(condition).execute()
    insert_rows(database, entry, entries)
    new = {}
    for row in entries:
        new.setdefault(row["record_no"], []).append((row["weight"], row["folded"]))
    update_index(database, old, new)


class LoadBusy(RuntimeError):
    """Another load of this database is running; this one wrote nothing."""

    def __init__(self):
        super().__init__("another load is running on this database; nothing was loaded: try again once it has finished")


# Any fixed number: PostgreSQL's advisory locks are named by a 64-bit integer per database.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"civicfacts load").digest()[:8], "big", signed=True)


@contextlib.contextmanager
def one_load_at_a_time(database):
    """Hold the database's load lock for the whole load (its write, then its downloads), or
    raise LoadBusy at once. PostgreSQL: a session advisory lock, let go when the load ends or
    its connection does (a killed load leaves no lock behind). SQLite: an exclusive flock on a
    file beside the database (let go by the kernel when the process ends), and the write
    itself begins IMMEDIATE (see `_transaction`), which also holds off any other writer."""
    if is_postgres(database):
        (locked,) = database.execute_sql("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        if not locked:
            raise LoadBusy()
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # a broken connection has let go of it already
                database.execute_sql("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        return
    path = database.database
    if path == ":memory:" or path.startswith("file:"):
        yield  # no file to lock beside; nothing else can reach it
        return
    with open(f"{path}.load-lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LoadBusy() from None
        yield  # closing the file lets go of the lock


@contextlib.contextmanager
def _transaction(database):
    """The load's one transaction. SQLite's begins IMMEDIATE, taking the write lock before
    anything is read: a deferred one would only learn at its first write that another writer
    holds it, and fail there with "database is locked"."""
    if is_postgres(database):
        with database.atomic():
            plan_each_statement(database)
            yield
        return
    try:
        transaction = database.atomic(lock_type="IMMEDIATE")
        transaction.__enter__()
    except OperationalError as exc:
        if "locked" in str(exc):
            raise LoadBusy() from exc
        raise
    with contextlib.ExitStack() as stack:
        stack.push(transaction)
        yield


def load(seeds, database, progress=None, publish=True):
    """Load `seeds` as a new version of the dataset, all or nothing, writing only what changed
    (see the module's docstring). Returns the current Dataset row: the new version, or the one
    there was if the seeds change nothing. `progress(stage, done, total)`, if given, hears how
    far the load has got. With `publish`, the version's downloads are built once it is in.
    Raises LoadBusy, having written nothing, while another load runs."""
    hashes = seed_hashes(seeds)
    with one_load_at_a_time(database):
        with _transaction(database):
            dataset = _write(database, seeds, hashes, progress)
        if publish and not compiler.downloads_current(dataset):
            if progress is not None:
                progress("building the downloads", None)  # minutes at 10^5 figures: say what is happening
            compiler.publish_downloads(database, dataset, RECORD_TYPES)
    return dataset


def _write(database, seeds, hashes, progress):
    """The load's transaction: the rows, the word index and the documents that change, and the
    new version with its changes; or nothing, and the current version, if nothing changes."""
    keys = set(hashes)
    previous = _current()
    stored = _stored(database)
    fresh = previous is None or previous.format != compiler.FORMAT or not stored
    touched = keys if fresh else {key for key in keys if stored.get(key, (None,))[0] != hashes[key]}
    gone = set(stored) - keys
    if not fresh and (len(touched) + len(gone)) * 2 > len(keys):
        fresh, touched = True, keys  # most records changed: writing everything afresh costs less
    if fresh:
        _write_all(database, seeds, _rows(seeds))
        vocabulary = moved = True
    else:
        rows = _rows(seeds, {record_id for _, record_id in touched})  # the rows of what changed, and the vocabularies
        vocabulary = _vocabulary_differs(rows)
        if vocabulary:
            _write_vocabulary(database, rows)
        counted_before = compiler.counted_values(touched | gone)
        _write_changed(database, seeds, rows, touched, gone)
        moved = _move(database, seeds, touched)
        if not (touched or gone or vocabulary or moved):
            return previous  # nothing changed: no version, nothing written
    if progress is not None:
        progress("written", len(touched) + len(gone), len(keys))
    numbers = _numbers(keys, fresh, stored)
    _index(database, seeds, numbers, touched, gone, fresh)
    if fresh:
        changes = compiler.compile_documents(database, RECORD_TYPES, numbers, hashes, None, progress)
    else:
        # The touched records first; then every record the old or new documents of those name,
        # whose own documents list them (a figure's subject lists the figure, a source the
        # records it is cited for, a parent its children).
        before = _bodies(touched | gone)
        changes = compiler.compile_documents(database, RECORD_TYPES, numbers, hashes, touched, progress, gone=gone)
        neighbours = ((_refs(before) | _refs(_bodies(touched))) & keys) - touched
        changes += compiler.compile_documents(database, RECORD_TYPES, numbers, hashes, neighbours, progress, gone=set())
    if fresh:
        counts = compiler.count_lists(database)
    else:
        counts = compiler.recount(database, counted_before, compiler.counted_values(touched | gone))
    kinds = [change.kind for change in changes]
    dataset = m.Dataset.create(
        version=_unique_version(seeds.version),
        loaded_at=now(),
        seeds_hash=seeds.version,
        format=compiler.FORMAT,
        counts=counts,
        added=kinds.count("added"),
        changed=kinds.count("changed"),
        removed=kinds.count("removed"),
    )
    insert_rows(
        database,
        m.RecordChange,
        [
            {"dataset": dataset.id, "record_type": c.record_type, "record_id": c.record_id, "kind": c.kind, "detail": orjson.dumps(c.detail)}
            for c in changes
        ],
    )
    return dataset


def _bodies(keys):
    """The JSON of the records `keys` name ((type, id)), as their documents hold it now."""
    doc, bodies = m.Document, []
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        part = ordered[start : start + 500]
        condition = None
        for record_type in {t for t, _ in part}:
            clause = (doc.record_type == record_type) & doc.record_id.in_([i for t, i in part if t == record_type])
            condition = clause if condition is None else condition | clause
        bodies += [bytes(body) for (body,) in doc.select(doc.body).where(condition).tuples()]
    return bodies
