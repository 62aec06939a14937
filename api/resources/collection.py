"""What every collection endpoint does, written once: list with keyset pages, filters,
search, sort, include and CSV; get one record by id. Each resources/<collection>.py
module only says what is particular to it (its filters, sort fields and includes)."""

import hashlib
import http
from urllib.parse import urlencode

import orjson
from flask import Response, current_app, g, request, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from webargs.flaskparser import FlaskParser

from api import models as m
from api import schemas
from api.cache import read_dataset, total_of
from api.csv_export import columns
from api.csv_export import stream as stream_csv
from api.http import CSV, JSON, negotiate
from api.jsonld import JSONLD, SCHEMA_ORG_TYPES, to_jsonld
from api.pagination import CursorError, after, check_position, decode_cursor, encode_cursor, keyset_batches, order_by
from api.records import fetch, fetched, record_columns, represent
from api.search import matching_ids

COMMON_SORT = ("id", "name_ko", "name_en", "page_order")
JSONLD_SCHEMA = {
    "type": "object",
    "required": ["@context", "@id", "@type", "identifier"],
    "properties": {
        "@context": {"const": "https://schema.org"},
        "@id": {"type": "string", "description": "This record's API URL"},
        "@type": {"type": "string", "enum": sorted({t for types in SCHEMA_ORG_TYPES.values() for t in types})},
        "identifier": {"type": "string", "description": "The record's id"},
    },
}
# The headers every 200 carries (components registered by errors.CivicApi).
OK_HEADERS = {"ETag": "ETAG", "Cache-Control": "CACHE_CONTROL"}
PAGE_HEADERS = {**OK_HEADERS, "Link": "LINK_NEXT"}


class QueryParser(FlaskParser):
    # A bad parameter is the client's error (400), not an unprocessable entity (422).
    DEFAULT_VALIDATION_STATUS = 400
    # webargs excludes unknown query parameters by default, which would override the schemas'
    # Meta.unknown = RAISE; None defers to the schema, so `?lmit=5` is a 400 naming `lmit`.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None}


class CivicBlueprint(Blueprint):
    ARGUMENTS_PARSER = QueryParser()


# What any request may meet before its route runs (api/guard.py): a body, a query string too
# long, a rate limit.
GUARD_ERRORS = (413, 414, 429)


def documents_errors(blp, *codes):
    """Document these error responses (problem+json) on an operation, and the guard's."""

    def decorate(func):
        for code in sorted({*codes, *GUARD_ERRORS}):
            func = blp.alt_response(code, response=http.HTTPStatus(code).name)(func)
        return func

    return decorate


def current_dataset():
    dataset = read_dataset()
    if dataset is None:
        abort(503, message="No dataset is loaded yet: run `civicfacts load`.")
    g.dataset_version = dataset.version  # http.add_caching puts it in the ETag
    return dataset


def url_with(**changes):
    args = {k: v for k, v in request.args.items()}
    args.update({k: v for k, v in changes.items() if v is not None})
    for k, v in changes.items():
        if v is None:
            args.pop(k, None)
    query = urlencode(args)
    return request.base_url + (f"?{query}" if query else "")


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


def included(records, names):
    if not names:
        return None
    wanted = []
    for record in records:
        for name in names:
            collect_refs(record.get(name), wanted)
    own = {(r["type"], r["id"]) for r in records}
    unique = {(r["type"], r["id"]): r for r in wanted if (r["type"], r["id"]) not in own}
    return fetch(unique.values())


class Collection:
    """One collection's endpoints, built from what is particular to it."""

    def __init__(self, name, record_schema, *, description, examples, sort=(), includes=(), filters=None, apply=None):
        """`examples`: values from the seeds for the docs: `record_id` (a record of this
        collection), and `q`, `sort`, `include` for its list, each one that finds something."""
        self.name = name
        self.examples = examples
        self.model = m.RECORD_MODELS[name]
        self.type = m.RECORD_TYPES[name]
        self.record_schema = record_schema
        self.sort_fields = {
            "id": self.model.id, "name_ko": self.model.name_ko, "name_en": self.model.name_en,
            "page_order": self.model.position,
            **{field: getattr(self.model, column) for field, column in dict(sort).items()},
        }
        self.includes = ("sources", *includes)
        title = name.capitalize()
        self.query_schema = schemas.list_query_schema(f"{title}QuerySchema", self.sort_fields, self.includes, filters or {}, examples)
        one_include = schemas.CommaList(set(self.includes), metadata={"description": f"Embed related records: {', '.join(self.includes)}"})
        self.one_query_schema = type(
            f"{title}RecordQuerySchema", (schemas.FormatQuerySchema,), schemas.with_examples({"include": one_include}, examples)
        )
        self.list_schema = schemas.list_schema(record_schema, f"{title}List")
        self.one_schema = schemas.one_schema(record_schema, f"{title}Record")
        self.apply = apply or (lambda query, args: query)
        self.blueprint = self._blueprint(description)

    # -- queries ----------------------------------------------------------------------

    def sort_keys(self, names):
        names = names or ["page_order"]
        keys = [(self.sort_fields[n.lstrip("-")], n.startswith("-")) for n in names]
        if "id" not in [n.lstrip("-") for n in names]:
            keys.append((self.model.id, False))  # a unique tiebreaker makes keyset pages exact
        return keys

    def filtered(self, args):
        query = self.apply(self.model.select(*record_columns(self.model)), args)
        if args.get("q"):
            query = query.where(self.model.id.in_(matching_ids(self.type, args["q"])))
        return query

    def after_cursor(self, query, keys, args):
        if not args.get("cursor"):
            return query
        secret = current_app.config["CURSOR_SECRET"]
        try:
            values = decode_cursor(secret, args["cursor"], self.name, ",".join(args.get("sort") or []))
            check_position(keys, values)
            return query.where(after(keys, values))
        except (CursorError, ValueError) as exc:
            abort(400, message=f"cursor: {exc}", errors=[{"parameter": "cursor", "message": str(exc)}])

    def cursor_for(self, row, keys, args):
        values = [getattr(row, expression.column_name) for expression, _ in keys]
        return encode_cursor(current_app.config["CURSOR_SECRET"], self.name, ",".join(args.get("sort") or []), values)

    # -- views ------------------------------------------------------------------------

    def list(self, args):
        dataset = current_dataset()
        media = negotiate([JSON, CSV], args.get("format"))
        keys = self.sort_keys(args.get("sort"))
        query = self.filtered(args)
        if media == CSV:
            return self.csv(self.after_cursor(query, keys, args), keys, dataset)
        total = total_of(self.name, args, query)
        limit = args["limit"]
        page = list(self.after_cursor(query, keys, args).order_by(*order_by(keys)).limit(limit + 1).namedtuples())
        more = len(page) > limit
        page = page[:limit]
        data = represent(self.name, page)
        next_url = url_with(cursor=self.cursor_for(page[-1], keys, args)) if more else None
        body = {
            "data": data,
            "links": {"self": request.url, "next": next_url},
            "meta": {"total": total, "limit": limit, "dataset_version": dataset.version},
        }
        extra = included(data, args.get("include"))
        if extra is not None:
            body["included"] = extra
        headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
        return body, 200, headers

    def one(self, args, record_id):
        current_dataset()
        media = negotiate([JSON, CSV, JSONLD], args.get("format"))
        row = self.model.select(*record_columns(self.model)).where(self.model.id == record_id).namedtuples().first()
        if row is None:
            abort(404, message=f"There is no {self.type} with id {record_id!r}.")
        if media == CSV:
            return self.csv(self.model.select(*record_columns(self.model)).where(self.model.id == record_id), self.sort_keys(None), current_dataset())
        data = represent(self.name, [row])[0]
        if media == JSONLD:
            return Response(orjson.dumps(to_jsonld(data)), mimetype=JSONLD)
        body = {"data": data, "links": {"self": request.base_url}}
        extra = included([data], args.get("include"))
        if extra is not None:
            body["included"] = extra
        return body

    def csv(self, query, keys, dataset):
        batches = keyset_batches(query.namedtuples(), keys, fetch=fetched)
        response = Response(stream_with_context(stream_csv(self.name, self.record_schema, batches)), mimetype=CSV)
        # A stream has no length to give: werkzeug would read the whole export into memory to find one.
        response.automatically_set_content_length = False
        response.headers["Content-Disposition"] = f'attachment; filename="civicfacts-{self.name}-{dataset.version}.csv"'
        representation = hashlib.sha256(f"{dataset.version} {request.full_path} csv".encode()).hexdigest()[:32]
        response.set_etag(representation)
        return response

    def _blueprint(self, description):
        blp = CivicBlueprint(self.name, __name__, url_prefix=f"/v1/{self.name}", description=description)
        collection = self
        # The CSV example is the header row the export really writes.
        csv_doc = {"text/csv": {"schema": {"type": "string"}, "example": ",".join(columns(self.record_schema)) + "\r\n"}}
        # The JSON-LD example is the head of the example record's document (an organisation's
        # example is a government body, hence the last of its types).
        record_example = self.examples["record_id"]
        jsonld_example = {
            "@context": "https://schema.org", "@id": f"https://civicfacts.example/v1/{self.name}/{record_example}",
            "@type": SCHEMA_ORG_TYPES[self.type][-1], "identifier": record_example,
        }
        jsonld_doc = {JSONLD: {"schema": JSONLD_SCHEMA, "example": jsonld_example}}

        class List(MethodView):
            @blp.arguments(collection.query_schema, location="query")
            @blp.response(200, collection.list_schema, description=f"A page of {collection.name}", headers=PAGE_HEADERS)
            @blp.doc(responses={200: {"content": csv_doc}})
            @documents_errors(blp, 304, 406, 503)
            def get(self, args):
                return collection.list(args)

        class One(MethodView):
            @blp.arguments(collection.one_query_schema, location="query")
            @blp.response(200, collection.one_schema, description=f"One {collection.type}", headers=OK_HEADERS)
            @blp.doc(responses={200: {"content": {**csv_doc, **jsonld_doc}}})
            @documents_errors(blp, 304, 404, 406, 503)
            def get(self, args, record_id):
                return collection.one(args, record_id)

        List.get.__doc__ = (
            f"List {self.name}\n\nFilter, sort and page through {self.name} (keyset pages: follow links.next or the "
            "Link header). CSV of every matching row with Accept: text/csv or ?format=csv."
        )
        One.get.__doc__ = (
            f"One {self.type}\n\nThe {self.type} with this id; related records as typed references. "
            f"With Accept: application/ld+json, the same record in schema.org terms ({' or '.join(SCHEMA_ORG_TYPES[self.type])}) as JSON-LD."
        )
        blp.route("")(List)
        record_id = {"in": "path", "name": "record_id", "description": f"The id of a {self.type}", "example": self.examples["record_id"]}
        blp.route("/<slug:record_id>", parameters=[record_id])(One)
        return blp
