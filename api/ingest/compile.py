"""Compile the loaded records into what the API serves, inside the load's transaction.

The dataset changes only when it is loaded, so each record's representations are made once,
here, rather than on every request: its JSON (as `/v1/{collection}/{id}` serves it under
`data`), its JSON-LD and its CSV line, as bytes, with a hash of the JSON (`document` table);
the exact totals of each collection and of each value of its single-column filters
(`list_count`); and the whole-dataset downloads, zip and SQLite (`download`, kept in the
database so that every app server sends the same bytes).

The records are represented by api/query/records.py from the rows the load has just written,
in keyset batches (a fixed number of queries per batch), so memory stays flat at any size,
and the same code compiles what the loader wrote and what bench/generate.py writes.

A record's new document is compared with the one it had (by hash): a record whose document
is unchanged costs a comparison and no write, and what did change is what the load's version
changed (`Change`, kept as RecordChange rows: api/ingest/load.py).
"""

import hashlib
import os
import tempfile
from dataclasses import dataclass

import orjson
from peewee import SQL, fn

from api.formats.csv_export import line_maker
from api.formats.datapackage import collection_csv
from api.formats.download import BUILDERS
from api.formats.jsonld import to_jsonld
from api.query import days, files, search_index
from api.query.counts import COUNTED_FILTERS, totals, values_of
from api.query.documents import BASE_PLACEHOLDER
from api.query.pagination import BATCH, keyset_batches, page_order
from api.query.records import record_columns, represent
from api.store import models as m
from api.store.db import analyze_written
from api.store.fastpath import fetched, insert_rows, update_rows

# Bump when what a document holds changes for the same rows (a field added to a record, a new
# JSON-LD term): a load then compiles every record again, whatever its seeds say.
FORMAT = 2  # 2: JSON-LD names the API's own context (/v1/context.jsonld), not schema.org's
CHUNK_BYTES = 1 << 20  # the downloads are kept in chunks of this size
DOCUMENT_COLUMNS = ("record_no", "body", "jsonld", "csv", "hash", "seed_hash")


@dataclass
class Change:
    record_type: str
    record_id: str
    kind: str  # added, changed, removed
    detail: object  # the record (added), its old one (removed), [{field, old, new}] (changed)


def rank_numbers(record_type):
    """{id: number} of every record of a type, numbered as a fresh word index numbers them
    (api/query/search_index.py): by rank in the sorted ids."""
    model = m.RECORD_MODELS[m.TYPE_COLLECTIONS[record_type]]
    ids = sorted(row[0] for row in model.select(model.id).tuples())
    return {record_id: search_index.record_number(record_type, rank) for rank, record_id in enumerate(ids)}


def documents(record_type, records, numbers, seed_hashes):
    """The `document` rows of represented records of one RecordType (api/registry.py)."""
    names = list(record_type.schema().fields)
    line = line_maker(record_type.schema)
    rows = []
    for record in records:
        body = orjson.dumps({name: record[name] for name in names})
        key = (record_type.type, record["id"])
        rows.append(
            {
                "record_type": record_type.type,
                "record_id": record["id"],
                "record_no": numbers[key],
                "body": body,
                "jsonld": orjson.dumps(to_jsonld(record, BASE_PLACEHOLDER)),
                "csv": line(record),
                "hash": hashlib.sha256(body).hexdigest()[:32],
                "seed_hash": seed_hashes.get(key),
            }
        )
    return rows


def field_changes(old, new):
    """[{field, old, new}] of the fields of a record's JSON that differ, in the new one's order."""
    return [{"field": name, "old": old.get(name), "new": value} for name, value in new.items() if old.get(name) != value]


def _batches(record_type, ids):
    """The rows of `record_type`'s records (all, or those of `ids`), a batch at a time."""
    model = record_type.model
    query = model.select(*record_columns(model)).namedtuples()
    if ids is None:
        yield from keyset_batches(query, page_order(model), fetch=fetched)
        return
    ordered = sorted(ids)
    for start in range(0, len(ordered), BATCH):
        yield fetched(query.where(model.id.in_(ordered[start : start + BATCH])))


def compile_documents(database, record_types, numbers, seed_hashes, keys=None, progress=None, gone=None):
    """Make the documents of every record of `record_types` (or of the (type, id) `keys` only),
    write those that changed, drop those whose record is gone (any, or those of `gone`);
    returns the Changes. `numbers`: {(type, id): record number}; `seed_hashes`: {(type, id):
    hash of its seeds}. Compiling every record reads back every table just written, a batch
    at a time: their statistics are brought up to date first."""
    if keys is None:
        analyze_written(database, [model._meta.table_name for model in m.ALL_MODELS])
    changes, done = [], 0
    doc = m.Document
    for record_type in record_types:
        wanted = None if keys is None else {record_id for t, record_id in keys if t == record_type.type}
        if wanted is not None and not wanted:
            continue
        for rows in _batches(record_type, wanted):
            if not rows:
                continue
            new = documents(record_type, represent(record_type.name, rows, [row.id for row in rows]), numbers, seed_hashes)
            old = {
                record_id: (digest, bytes(body), number, seed_hash)
                for record_id, digest, body, number, seed_hash in doc.select(doc.record_id, doc.hash, doc.body, doc.record_no, doc.seed_hash)
                .where((doc.record_type == record_type.type) & doc.record_id.in_([row["record_id"] for row in new]))
                .tuples()
            }
            added, updated = [], []
            for row in new:
                before = old.get(row["record_id"])
                if before is None:
                    added.append(row)
                    changes.append(Change(record_type.type, row["record_id"], "added", orjson.loads(row["body"])))
                elif before[0] != row["hash"]:
                    updated.append(row)
                    detail = field_changes(orjson.loads(before[1]), orjson.loads(row["body"]))
                    changes.append(Change(record_type.type, row["record_id"], "changed", detail))
                elif (before[2], before[3]) != (row["record_no"], row["seed_hash"]):
                    updated.append(row)  # the same document, renumbered or loaded from other seeds
            insert_rows(database, doc, added)
            update_rows(database, doc, updated, DOCUMENT_COLUMNS, ("record_type", "record_id"))
            done += len(rows)
            if progress is not None:
                progress("compiled", done, None)
    changes += drop_orphans(record_types, gone)
    return changes


def drop_orphans(record_types, gone=None):
    """Drop the documents whose record is gone (any, or those `gone` names); their Changes
    (removed, as they were)."""
    doc, changes = m.Document, []
    for record_type in record_types:
        if gone is None:
            query = orphans(record_type)
        else:
            named = sorted(record_id for t, record_id in gone if t == record_type.type)
            if not named:
                continue
            query = _documents(record_type, doc.record_id.in_(named))
        ids = []
        for record_id, body in query.tuples():
            changes.append(Change(record_type.type, record_id, "removed", orjson.loads(bytes(body))))
            ids.append(record_id)
        for start in range(0, len(ids), BATCH):
            doc.delete().where((doc.record_type == record_type.type) & doc.record_id.in_(ids[start : start + BATCH])).execute()
    return changes


def orphans(record_type):
    """The documents of `record_type` whose record is gone: (record_id, body). NOT EXISTS, an
    anti-join: PostgreSQL ran NOT IN (subquery) as a loop over the whole table for each
    document once the table's ids passed work_mem (at 10^5 figures, most of a load's time)."""
    model = record_type.model
    return _documents(record_type, ~fn.EXISTS(model.select(SQL("1")).where(model.id == m.Document.record_id)))


def _documents(record_type, condition):
    doc = m.Document
    return doc.select(doc.record_id, doc.body).where((doc.record_type == record_type.type) & condition)


def count_lists(database):
    """Write the exact totals: each collection's, and per value of each single-column filter."""
    m.ListCount.delete().execute()
    rows = [
        {"collection": name, "filter": "", "value": "", "total": model.select().count(), "csv_bytes": csv_bytes(model)}
        for name, model in m.RECORD_MODELS.items()
    ]
    for collection, filters in COUNTED_FILTERS.items():
        for name, counted in filters.items():
            rows += [
                {"collection": collection, "filter": name, "value": str(value), "total": n, "csv_bytes": None} for value, n in totals(counted).items()
            ]
    insert_rows(database, m.ListCount, rows)
    days.keep(database)
    return {row["collection"]: row["total"] for row in rows if not row["filter"]}


def csv_bytes(model):
    """The bytes of the compiled CSV lines of every record of `model`."""
    doc = m.Document
    return doc.select(fn.COALESCE(fn.SUM(fn.LENGTH(doc.csv)), 0)).where(doc.record_type == model.record_type).scalar()


def counted_values(keys):
    """{(collection, filter): {record id: its values}} of the records `keys` ((type, id)) names,
    for each single-column filter of their collections: what recount compares, before and after."""
    out = {}
    for record_type in {t for t, _ in keys}:
        collection = m.TYPE_COLLECTIONS[record_type]
        ids = {record_id for t, record_id in keys if t == record_type}
        for name, counted in COUNTED_FILTERS[collection].items():
            out[(collection, name)] = values_of(counted, ids)
    return out


def recount(database, before, after):
    """Bring the totals counted at load up to date for the records whose values went from
    `before` to `after` (counted_values of them): a record leaving a value takes one from its
    total, one coming adds one. Returns each collection's total."""
    deltas = {}
    for group, old in before.items():
        new = after.get(group, {})
        for record_id in set(old) | set(new):
            for value in old.get(record_id, set()) - new.get(record_id, set()):
                deltas[(*group, str(value))] = deltas.get((*group, str(value)), 0) - 1
            for value in new.get(record_id, set()) - old.get(record_id, set()):
                deltas[(*group, str(value))] = deltas.get((*group, str(value)), 0) + 1
    count = m.ListCount
    for (collection, name, value), delta in deltas.items():
        if not delta:
            continue
        where = (count.collection == collection) & (count.filter == name) & (count.value == value)
        total = (count.select(count.total).where(where).scalar() or 0) + delta
        count.delete().where(where).execute()
        if total:
            insert_rows(database, count, [{"collection": collection, "filter": name, "value": value, "total": total}])
    if {collection for collection, _ in (*before, *after)} & set(days.DATED):
        days.keep(database)  # a few seconds at 10^6 figures, and only when a dated record changed
    out = {}
    for name, model in m.RECORD_MODELS.items():
        out[name] = model.select().count()
        whole = (count.collection == name) & (count.filter == "")
        count.update(total=out[name], csv_bytes=csv_bytes(model)).where(whole).execute()
    return out


def keep_file(database, kind, dataset, pieces):
    """Keep the bytes of `pieces` (an iterable of bytes) as the file `kind` of `dataset`, in
    chunks of CHUNK_BYTES (every one that long but the last, as api/query/files.py reads them)."""
    digest, size, number, pending = hashlib.sha256(), 0, 0, bytearray()

    def write(chunk):
        nonlocal size, number
        insert_rows(database, m.DownloadChunk, [{"kind": kind, "number": number, "data": bytes(chunk)}])
        digest.update(chunk)
        size, number = size + len(chunk), number + 1

    for piece in pieces:
        pending += piece
        while len(pending) >= CHUNK_BYTES:
            write(pending[:CHUNK_BYTES])
            del pending[:CHUNK_BYTES]
    if pending or not number:
        write(pending)
    insert_rows(database, m.Download, [{"kind": kind, "dataset": dataset.id, "size": size, "sha256": digest.hexdigest()}])


def publish_exports(database, dataset, record_types):
    """Keep each collection's full CSV export (api/query/files.py), made from the compiled
    lines, in the caller's transaction, in place of any kept before."""
    for record_type in record_types:
        kind = files.export_kind(record_type.name)
        m.DownloadChunk.delete().where(m.DownloadChunk.kind == kind).execute()
        m.Download.delete().where(m.Download.kind == kind).execute()
        keep_file(database, kind, dataset, collection_csv(record_type))


def publish_downloads(database, dataset, record_types):
    """Build the full CSV export of each collection, then the zip and the SQLite file of the
    dataset (from those exports), and keep them in the database, in place of the previous
    ones, in one transaction."""
    with database.atomic():
        m.DownloadChunk.delete().execute()
        m.Download.delete().execute()
        publish_exports(database, dataset, record_types)
        for kind, build in BUILDERS.items():
            with tempfile.TemporaryDirectory(prefix="civicfacts-download-") as directory:
                path = os.path.join(directory, f"dataset.{kind}")
                build(path, dataset, record_types)
                with open(path, "rb") as built:
                    keep_file(database, kind, dataset, iter(lambda: built.read(CHUNK_BYTES), b""))


def published_kinds():
    """The kinds of file a load keeps: the downloads and every collection's export."""
    return set(BUILDERS) | {files.export_kind(name) for name in m.RECORD_MODELS}


def downloads_current(dataset):
    """Whether the files kept are those of `dataset`, every one of them."""
    built = {kind for (kind,) in m.Download.select(m.Download.kind).where(m.Download.dataset == dataset.id).tuples()}
    return built == published_kinds()


def compile_all(database, dataset, record_types, progress=None):
    """Everything the API serves, made afresh from the records just written (in the caller's
    transaction), with no history: for a database filled by other means (bench/generate.py)."""
    m.Document.delete().execute()
    numbers = {}
    for record_type in record_types:
        numbers.update({(record_type.type, record_id): n for record_id, n in rank_numbers(record_type.type).items()})
    compile_documents(database, record_types, numbers, {}, progress=progress)
    count_lists(database)
    publish_downloads(database, dataset, record_types)
