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
"""

import hashlib
import os
import tempfile

import orjson

from api.formats.csv_export import line_maker
from api.formats.download import BUILDERS
from api.formats.jsonld import to_jsonld
from api.query.counts import COUNTED_FILTERS
from api.query.documents import BASE_PLACEHOLDER
from api.query.pagination import keyset_batches, page_order
from api.query.records import record_columns, represent
from api.query.search_index import record_number
from api.store import models as m
from api.store.fastpath import fetched, insert_rows

CHUNK_BYTES = 1 << 20  # the downloads are kept in chunks of this size


def record_numbers(record_type):
    """{id: number} of every record of a type, numbered as the word index numbers them
    (api/query/search_index.py): by rank in the sorted ids."""
    model = m.RECORD_MODELS[m.TYPE_COLLECTIONS[record_type]]
    ids = sorted(row[0] for row in model.select(model.id).tuples())
    return {record_id: record_number(record_type, rank) for rank, record_id in enumerate(ids)}


def documents(record_type, records, numbers):
    """The `document` rows of represented records of one RecordType (api/registry.py)."""
    names = list(record_type.schema().fields)
    line = line_maker(record_type.schema)
    rows = []
    for record in records:
        body = orjson.dumps({name: record[name] for name in names})
        rows.append(
            {
                "record_type": record_type.type,
                "record_id": record["id"],
                "record_no": numbers[record["id"]],
                "body": body,
                "jsonld": orjson.dumps(to_jsonld(record, BASE_PLACEHOLDER)),
                "csv": line(record),
                "hash": hashlib.sha256(body).hexdigest()[:32],
            }
        )
    return rows


def compile_documents(database, record_types, progress=None):
    """Write the document of every record of `record_types`; returns how many."""
    written = 0
    for record_type in record_types:
        model = record_type.model
        numbers = record_numbers(record_type.type)
        query = model.select(*record_columns(model)).namedtuples()
        for rows in keyset_batches(query, page_order(model), fetch=fetched):
            insert_rows(database, m.Document, documents(record_type, represent(record_type.name, rows, rows.ids), numbers))
            written += len(rows)
            if progress is not None:
                progress("compiled", written, None)
    return written


def count_lists(database):
    """Write the exact totals: each collection's, and per value of each single-column filter."""
    rows = [{"collection": name, "filter": "", "value": "", "total": model.select().count()} for name, model in m.RECORD_MODELS.items()]
    for collection, filters in COUNTED_FILTERS.items():
        for name, counted in filters.items():
            rows += [{"collection": collection, "filter": name, "value": str(value), "total": n} for value, n in counted() if value is not None]
    insert_rows(database, m.ListCount, rows)
    return len(rows)


def publish_downloads(database, dataset, record_types):
    """Build the zip and the SQLite file of the dataset and keep them in the database."""
    for kind, build in BUILDERS.items():
        with tempfile.TemporaryDirectory(prefix="civicfacts-download-") as directory:
            path = os.path.join(directory, f"dataset.{kind}")
            build(path, dataset, record_types)
            digest, size, number = hashlib.sha256(), 0, 0
            with open(path, "rb") as built:
                while chunk := built.read(CHUNK_BYTES):
                    insert_rows(database, m.DownloadChunk, [{"kind": kind, "number": number, "data": chunk}])
                    digest.update(chunk)
                    size += len(chunk)
                    number += 1
            insert_rows(database, m.Download, [{"kind": kind, "size": size, "sha256": digest.hexdigest()}])


def compile_all(database, dataset, record_types, progress=None):
    """Everything the API serves, made from the records just written (in the caller's transaction)."""
    for model in reversed(m.COMPILED_MODELS):
        model.delete().execute()
    compile_documents(database, record_types, progress)
    count_lists(database)
    publish_downloads(database, dataset, record_types)
