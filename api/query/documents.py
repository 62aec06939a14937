"""Records as compiled at load (the `document` table, api/ingest/compile.py), read back as the
bytes the API sends: one record by one indexed lookup, related records by one query for all
of them, and a collection's rows joined to their documents in whatever order its keys give.
"""

import functools
import hashlib

import orjson
from peewee import JOIN, SQL, Tuple

from api.query.dataset import DATASET_SQL, dataset_of
from api.query.pagination import key_columns, order_by_columns
from api.store import models as m
from api.store.fastpath import as_sent, first_row, row_class, sent_as_read

# Where a JSON-LD document's links start: replaced, per request, by the API's root URL.
BASE_PLACEHOLDER = "\ue000civicfacts-base\ue000"
BASE_BYTES = BASE_PLACEHOLDER.encode("utf-8")
Document = m.Document


def joined(model, *columns):
    """A select of `model`'s rows with `columns` of their documents (bodies, CSV lines, ...),
    to which filters, orders and keyset conditions are added as to any select of `model`.

    Written as a CROSS JOIN with the condition in WHERE: SQLite then reads `model` first, in the
    order of its index, and looks each document up by key, stopping at the page's LIMIT. As an
    inner join its planner started from the documents of the record type (a fifth of the table)
    and sorted them all for every page: 316 ms for the first page of 10^5 figures, against
    5 ms (bench/RESULTS.md). PostgreSQL plans the two spellings alike."""
    on = (Document.record_type == model.record_type) & (Document.record_id == model.id)
    return model.select(*columns).join(Document, JOIN.CROSS).where(on)


def page(ids, keys, record_type):
    """The rows of a page: named tuples of the columns of `keys`, then `body`, the document of
    each record `ids` selects, in the order of `keys`. `ids` is a select of the record table with
    the page's filters, order and LIMIT (or its SQL, as api.store.fastpath.indexed_by gives it),
    selecting the columns of `keys` (api.query.pagination.key_columns) under their names.

    The page's documents are joined to that select as a subquery, each looked up by key as the
    page's rows come out in order. Picking the ids by `IN (select)` and joining the documents to
    the record table again, PostgreSQL looked each record up a second time, hashed the ids and
    sorted the page: 1.3 ms to run a unit's month at 10^5 figures, against 0.5 ms."""
    database = Document._meta.database
    if isinstance(ids, SQL):
        inner, params = ids.sql, ids.params
    else:
        inner, params = ids.sql()
        inner = f"({inner})"
    sql = _page_sql(tuple(keys), database.param)
    cursor = database.execute_sql(sql.replace("{ids}", inner, 1), [*params, record_type])
    columns = key_columns(keys)
    names = tuple(e.column_name for e in columns) + ("body",)
    convert = [(i, e.python_value) for i, e in enumerate(columns) if not sent_as_read(e)]
    rows = cursor.fetchall()
    if convert:
        rows = [list(row) for row in rows]
        for row in rows:
            for i, python_value in convert:
                row[i] = python_value(row[i])
    return list(map(row_class(names)._make, rows))


@functools.cache
def _page_sql(keys, param):
    selected = ", ".join(f'"page"."{e.column_name}"' for e in key_columns(keys))
    table = Document._meta.table_name
    return (
        f'SELECT {selected}, "{table}"."body" FROM {{ids}} AS "page" CROSS JOIN "{table}" '
        f'WHERE "{table}"."record_type" = {param} AND "{table}"."record_id" = "page"."id" '
        f"ORDER BY {order_by_columns(keys, 'page')}"
    )


def one(record_type, record_id, column=Document.body):
    """(column's bytes, hash) of one record, or None: one indexed lookup."""
    return first_row(Document, (column.column_name, "hash"), ("record_type", "record_id"), (record_type, record_id))


def one_with_dataset(record_type, record_id, column=Document.body):
    """(the loaded Dataset or None, (column's bytes, hash) of one record or None), read by one
    statement. PostgreSQL gives a statement a snapshot of its own, so a request that reads
    nothing else needs no transaction around it: one round trip rather than three (BEGIN with
    the dataset's look-up, the record, COMMIT)."""
    database = Document._meta.database
    row = database.execute_sql(_one_with_dataset_sql(column.column_name, database.param), (record_type, record_id)).fetchone()
    if row is None:
        return None, None
    return dataset_of(row), (None if row[4] is None else (row[3], row[4]))


@functools.cache
def _one_with_dataset_sql(column, param):
    return (
        f'SELECT d.*, doc."{column}", doc."hash" FROM ({DATASET_SQL}) AS d LEFT JOIN "{Document._meta.table_name}" AS doc '
        f'ON doc."record_type" = {param} AND doc."record_id" = {param}'
    )


def bodies(refs):
    """{(type, id): (body, hash)} of the records named by `refs` ([{"type", "id"}]): one query."""
    keys = sorted({(ref["type"], ref["id"]) for ref in refs})
    if not keys:
        return {}
    rows = Document.select(Document.record_type, Document.record_id, as_sent(Document.body), as_sent(Document.hash))
    rows = rows.where(Tuple(Document.record_type, Document.record_id).in_([Tuple(*key) for key in keys]))
    return {(t, i): (bytes(body), digest) for t, i, body, digest in rows.tuples()}


def records(refs):
    """The records named by `refs`, as dicts, in a stable order (type, then id): one query."""
    found = bodies(refs)
    order = {record_type: n for n, record_type in enumerate(m.RECORD_TYPES.values())}
    return [orjson.loads(found[key][0]) for key in sorted(found, key=lambda key: (order[key[0]], key[1]))]


def in_order(model, *where):
    """The records of `model` (that meet `where`), as dicts, in page order: one query."""
    query = joined(model, Document.body)
    for condition in where:
        query = query.where(condition)
    return [orjson.loads(body) for (body,) in query.order_by(model.position, model.id).tuples()]


def jsonld_bytes(jsonld, base_url):
    """A compiled JSON-LD document with its links under `base_url` (the API's root)."""
    return bytes(jsonld).replace(BASE_BYTES, orjson.dumps(base_url.rstrip("/"))[1:-1])


def combined_hash(*hashes):
    """One hash for a representation made of several documents (a record and what it includes)."""
    return hashlib.sha256(" ".join(hashes).encode()).hexdigest()[:32]
