"""/v1/versions and /v1/changes: every version of the dataset, and the feed of what each changed.

A service stays in sync by polling `/v1/changes?since=<the last version it saw>` and applying
the entries in order: an added record (given whole), the changed fields of a changed one, a
removed one. The feed pages by a signed cursor, like the lists, and answers CSV like them.
"""

import csv
import hashlib
import io
import tempfile

import orjson
from flask import Response, current_app, request, url_for
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import fields, validate

from api.query import history
from api.query.pagination import CursorError, decode_cursor, encode_cursor
from api.store import models as m
from api.web import envelopes, params
from api.web.blueprint import OK_HEADERS, PAGE_HEADERS, CivicBlueprint, documents_errors, url_with
from api.web.dataset import current_dataset, named_version
from api.web.envelopes import EXAMPLE_CHANGE
from api.web.responses import CSV, JSON, FileBody, negotiate

blp = CivicBlueprint("changes", __name__, url_prefix="/v1", description="Every version of the dataset, and what each one changed.")
BATCH = 1000
SPOOL_BYTES = 4 << 20  # of a CSV of the change feed kept in memory while it is written; the rest on disk
EXAMPLE_VERSION = {
    "version": "94c80e1a1d425c6a",
    "loaded_at": "2023-12-20T09:00:00Z",
    "seeds_hash": "94c80e1a1d425c6a",
    "counts": {"sources": 7, "organisations": 30, "people": 17, "places": 11, "events": 9, "programmes": 25, "figures": 28},
    "added": 0,
    "changed": 1,
    "removed": 0,
    "current": True,
    "changes": "https://civicfacts.example/v1/changes?version=94c80e1a1d425c6a",
}


def page_example(item, self_url):
    return {
        "data": [item],
        "links": {"self": self_url, "next": None},
        "meta": {"total": 1, "total_is_exact": True, "limit": 100, "dataset_version": item.get("dataset_version", item.get("version"))},
    }


CSV_COLUMNS = ["dataset_version", "loaded_at", "collection", "id", "kind", "changes", "record", "was"]


def version_param(description):
    return fields.String(validate=validate.Length(1, 100), metadata={"description": description})


class ChangesQuerySchema(params.FormatQuerySchema):
    since = version_param("Only the changes made after this version (from /v1/versions, or `meta.dataset_version`)")
    version = version_param("Only the changes this version made")
    collection = fields.String(validate=validate.OneOf(list(m.RECORD_MODELS)), metadata={"description": "Only the changes of this collection"})
    kind = fields.String(validate=validate.OneOf(["added", "changed", "removed"]), metadata={"description": "Only changes of this kind"})
    limit = params.AsciiInteger(load_default=100, validate=validate.Range(1, 500), metadata={"description": "Changes per page, 1 to 500"})
    cursor = params.cursor_param()


class VersionsQuerySchema(params.StrictQuerySchema):
    limit = params.AsciiInteger(load_default=50, validate=validate.Range(1, 500), metadata={"description": "Versions per page, 1 to 500"})
    cursor = params.cursor_param()


def position(cursor, scope):
    """The id a cursor of this scope holds (the last row of the page it was made for)."""
    try:
        (last,) = decode_cursor(current_app.config["CURSOR_SECRET"], cursor, scope, "")
        if type(last) is not int or not 0 <= last < 1 << 63:  # bool is an int to isinstance
            raise CursorError("not a cursor this API issued (bad position)")
        return last
    except (CursorError, ValueError) as exc:
        abort(400, message=f"cursor: {exc}", errors=[{"parameter": "cursor", "message": str(exc)}])


def next_link(rows, limit, scope):
    if len(rows) <= limit:
        return None
    return url_with(cursor=encode_cursor(current_app.config["CURSOR_SECRET"], scope, "", [rows[limit - 1].id]))


def csv_line(entry):
    cells = []
    for name in CSV_COLUMNS:
        value = entry[name]
        cells.append("" if value is None else value if isinstance(value, str) else orjson.dumps(value).decode())
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue().encode("utf-8")


def csv_export(query):
    """The whole feed `query` selects, as CSV, a batch of changes at a time."""
    yield ("\ufeff" + ",".join(CSV_COLUMNS) + "\r\n").encode("utf-8")
    last = 0
    while True:
        batch = list(query.where(m.RecordChange.id > last).order_by(m.RecordChange.id).limit(BATCH))
        if not batch:
            return
        yield b"".join(csv_line(history.entry(change)) for change in batch)
        last = batch[-1].id


def feed(args):
    """The changes `args` select, oldest first."""
    since = named_version(args["since"], "since") if "since" in args else None
    made_by = named_version(args["version"], "version") if "version" in args else None
    record_type = m.RECORD_TYPES[args["collection"]] if "collection" in args else None
    query = history.feed(since, record_type, args.get("kind"))
    if made_by is not None:
        query = query.where(m.RecordChange.dataset == made_by.id)
    return query


def feed_csv(query, dataset):
    # Each line is made now, not at load, so its length is not known before it is written:
    # the feed is written out first (in memory up to SPOOL_BYTES, then on disk), so a database
    # failure is a 503, not a stream that ends as if whole, and it is sent with its length.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        for chunk in csv_export(query):
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    length = spool.tell()
    spool.seek(0)
    response = Response(FileBody(spool), mimetype=CSV)
    response.automatically_set_content_length = False
    response.content_length = length
    response.headers["Content-Disposition"] = f'attachment; filename="civicfacts-changes-{dataset.version}.csv"'
    response.set_etag(hashlib.sha256(f"{dataset.version} {request.full_path} csv".encode()).hexdigest()[:32])
    return response


CSV_DOC = {CSV: {"schema": {"type": "string"}, "example": ",".join(CSV_COLUMNS) + "\r\n"}}
DISPOSITION = {
    "description": "attachment; filename=civicfacts-changes-<dataset version>.csv",
    "required": True,
    "schema": {"type": "string", "pattern": "^attachment; filename="},
}


@blp.route("/changes.csv")
class ChangesCsv(MethodView):
    @blp.arguments(params.csv_query_schema("ChangesCsvQuerySchema", ChangesQuerySchema), location="query")
    @blp.doc(
        operationId="listChangesCsv",
        responses={
            200: {"description": "The change feed, as CSV", "content": CSV_DOC, "headers": {**OK_HEADERS, "Content-Disposition": DISPOSITION}}
        },
    )
    @documents_errors(blp, 304, 406, 503)
    def get(self, args):
        """The change feed as CSV

        Every entry the filters select (not a page), oldest first, one row each: its own
        operation, so that a generated client reads it as text.
        """
        dataset = current_dataset()
        negotiate([CSV])
        return feed_csv(feed(args), dataset)


@blp.route("/changes")
class Changes(MethodView):
    @blp.arguments(ChangesQuerySchema, location="query")
    @blp.doc(operationId="listChanges")
    @blp.response(200, envelopes.ChangeListSchema, description="A page of the change feed", headers=PAGE_HEADERS)
    @blp.doc(
        responses={
            200: {
                "content": {
                    JSON: {"example": page_example(EXAMPLE_CHANGE, "https://civicfacts.example/v1/changes?since=120e74d03b19ca2d")},
                    **CSV_DOC,
                }
            }
        }
    )
    @documents_errors(blp, 304, 406, 503)
    def get(self, args):
        """The change feed

        What every load changed, oldest first: each entry names the version, the record and
        whether it was added (the record, whole), changed (every field that changed, old and
        new) or removed (the record as it was). Poll with `since` = the last version you saw;
        follow `links.next` while there is one. CSV of the whole feed at /v1/changes.csv (or with
        Accept: text/csv).
        """
        dataset = current_dataset()
        media = negotiate([JSON, CSV], args.get("format"))
        query = feed(args)
        if media == CSV:
            return feed_csv(query, dataset)
        total = query.count()
        if args.get("cursor"):
            query = query.where(m.RecordChange.id > position(args["cursor"], "changes"))
        limit = args["limit"]
        rows = list(query.order_by(m.RecordChange.id).limit(limit + 1))
        next_url = next_link(rows, limit, "changes")
        body = {
            "data": [history.entry(change) for change in rows[:limit]],
            "links": {"self": request.url, "next": next_url},
            "meta": {"total": total, "total_is_exact": True, "limit": limit, "dataset_version": dataset.version},
        }
        return body, 200, ({"Link": f'<{next_url}>; rel="next"'} if next_url else {})


@blp.route("/versions")
class Versions(MethodView):
    @blp.arguments(VersionsQuerySchema, location="query")
    @blp.doc(operationId="listVersions")
    @blp.response(200, envelopes.VersionListSchema, description="A page of versions, newest first", headers=PAGE_HEADERS)
    @blp.doc(responses={200: {"content": {JSON: {"example": page_example(EXAMPLE_VERSION, "https://civicfacts.example/v1/versions")}}}})
    @documents_errors(blp, 304, 406, 503)
    def get(self, args):
        """The versions of the dataset

        Every load that changed anything, newest first: when, from which seeds, how many records
        of each collection, and how many it added, changed and removed (the change feed has them).
        """
        negotiate([JSON])
        dataset = current_dataset()
        query = history.versions()
        total = query.count()
        if args.get("cursor"):
            query = query.where(m.Dataset.id < position(args["cursor"], "versions"))
        limit = args["limit"]
        rows = list(query.limit(limit + 1))
        next_url = next_link(rows, limit, "versions")
        data = [
            {
                "version": row.version,
                "loaded_at": row.loaded_at.isoformat() + "Z",
                "seeds_hash": row.seeds_hash,
                "counts": row.counts or {},
                "added": row.added,
                "changed": row.changed,
                "removed": row.removed,
                "current": row.id == dataset.id,
                "changes": url_for("changes.Changes", version=row.version, _external=True),
            }
            for row in rows[:limit]
        ]
        body = {
            "data": data,
            "links": {"self": request.url, "next": next_url},
            "meta": {"total": total, "total_is_exact": True, "limit": limit, "dataset_version": dataset.version},
        }
        return body, 200, ({"Link": f'<{next_url}>; rel="next"'} if next_url else {})
