"""What every collection endpoint does, written once: list with keyset pages, filters,
search, sort, include and CSV; get one record by id. Each resources/<collection>.py
module only says what is particular to it (its filters, sort fields and includes)."""

import hashlib

import orjson
from flask import Response, current_app, request, stream_with_context
from flask.views import MethodView
from flask_smorest import abort

from api.formats.csv_export import columns
from api.formats.csv_export import stream as stream_csv
from api.formats.jsonld import JSONLD, SCHEMA_ORG_TYPES, to_jsonld
from api.query.pagination import CursorError, after, check_position, decode_cursor, encode_cursor, keyset_batches, order_by
from api.query.records import collect_refs, fetch, record_columns, represent
from api.query.search import matching_ids
from api.store.fastpath import fetched
from api.web import envelopes, params
from api.web.blueprint import OK_HEADERS, PAGE_HEADERS, CivicBlueprint, documents_errors, url_with
from api.web.counts import total_of
from api.web.dataset import current_dataset
from api.web.responses import CSV, JSON, negotiate

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

    def __init__(self, record_type, *, examples, sort=(), includes=(), filters=None, apply=None):
        """`record_type`: its entry in api/registry.py. `examples`: values from the seeds for the
        docs: `record_id` (a record of this collection), and `q`, `sort`, `include` for its
        list, each one that finds something."""
        self.record_type = record_type
        self.name = name = record_type.name
        self.examples = examples
        self.model = record_type.model
        self.type = record_type.type
        self.record_schema = record_schema = record_type.schema
        self.sort_fields = {
            "id": self.model.id,
            "name_ko": self.model.name_ko,
            "name_en": self.model.name_en,
            "page_order": self.model.position,
            **{field: getattr(self.model, column) for field, column in dict(sort).items()},
        }
        self.includes = ("sources", *includes)
        title = name.capitalize()
        self.query_schema = params.list_query_schema(f"{title}QuerySchema", self.sort_fields, self.includes, filters or {}, examples)
        one_include = params.CommaList(set(self.includes), metadata={"description": f"Embed related records: {', '.join(self.includes)}"})
        self.one_query_schema = type(
            f"{title}RecordQuerySchema", (params.FormatQuerySchema,), params.with_examples({"include": one_include}, examples)
        )
        self.list_schema = envelopes.list_schema(record_schema, f"{title}List")
        self.one_schema = envelopes.one_schema(record_schema, f"{title}Record")
        self.apply = apply or (lambda query, args: query)
        self.blueprint = self._blueprint(record_type.description)

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
            return Response(orjson.dumps(to_jsonld(data, request.host_url)), mimetype=JSONLD)
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
            "@context": "https://schema.org",
            "@id": f"https://civicfacts.example/v1/{self.name}/{record_example}",
            "@type": SCHEMA_ORG_TYPES[self.type][-1],
            "identifier": record_example,
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
