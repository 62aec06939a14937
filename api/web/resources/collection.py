"""What every collection endpoint does, written once: list with keyset pages, filters,
search, sort, include and CSV; get one record by id. Each resources/<collection>.py
module only says what is particular to it (its filters, sort fields and includes)."""

import hashlib

import orjson
from flask import Response, current_app, g, request, stream_with_context, url_for
from flask.views import MethodView
from flask_smorest import abort
from peewee import SQL

from api.formats.csv_export import columns, export, export_length, header
from api.formats.jsonld import JSONLD, SCHEMA_ORG_TYPES
from api.query import days, documents, files, history
from api.query.counts import budgeted_total, stored_csv_bytes, stored_total
from api.query.pagination import CursorError, after, check_position, decode_cursor, encode_cursor, key_columns, order_by
from api.query.records import collect_refs
from api.query.search import among, search
from api.store import models as m
from api.store.db import is_postgres
from api.store.fastpath import in_select, indexed_by
from api.web import envelopes, params
from api.web.blueprint import OK_HEADERS, PAGE_HEADERS, CivicBlueprint, documents_errors, url_with
from api.web.counts import total_of
from api.web.dataset import current_dataset, current_record, named_version
from api.web.envelopes import EXAMPLE_CHANGE
from api.web.responses import CSV, JSON, negotiate
from api.web.transactions import one_statement

JSONLD_SCHEMA = {
    "type": "object",
    "required": ["@context", "@id", "@type", "identifier"],
    "properties": {
        "@context": {"type": "string", "description": "The JSON-LD context: /v1/context.jsonld, schema.org's terms"},
        "@id": {"type": "string", "description": "This record's API URL"},
        "@type": {"type": "string", "enum": sorted({t for types in SCHEMA_ORG_TYPES.values() for t in types})},
        "identifier": {"type": "string", "description": "The record's id"},
    },
}


def included(bodies, names, own):
    """The documents of what `bodies` (record JSON) name in their `names` fields, less `own`
    ((type, id) of the records themselves), in a stable order: one query for all of them."""
    wanted = []
    for body in bodies:
        record = orjson.loads(body)
        for name in names:
            collect_refs(record.get(name), wanted)
    found = documents.bodies([ref for ref in wanted if (ref["type"], ref["id"]) not in own])
    return [found[key] for key in sorted(found, key=lambda key: (TYPE_ORDER[key[0]], key[1]))]


TYPE_ORDER = {record_type: n for n, record_type in enumerate(m.RECORD_TYPES.values())}
NOT_FILTERS = ("cursor", "limit", "sort", "include", "format")
NO_PARAMS = type("HistoryQuerySchema", (params.StrictQuerySchema,), {})


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
        self.csv_query_schema = params.csv_query_schema(f"{title}CsvQuerySchema", self.query_schema)
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

    def narrowed(self, query, args):
        """`query`, a select of the record table, with the filters of `args` but `q` applied."""
        query = self.apply(query, args)
        if args.get("changed_since"):
            since = named_version(args["changed_since"], "changed_since")
            query = query.where(in_select(self.model.id, history.changed_since(self.type, since)))
        return query

    def filtered(self, args, keys, column):
        """The rows `args` select, with the columns of `keys` and `column` of their documents
        (the JSON, or the CSV line): a select of the record table joined to its documents."""
        query = self.narrowed(documents.joined(self.model, *(e.alias(e.column_name) for e, _ in keys), column), args)
        return query.where(self.found(args)) if args.get("q") else query

    def searched(self, args):
        """The search for `q` among this collection's records, made once per request: the page,
        its total and an export all ask for it."""
        done = g.setdefault("searched", {})
        if (self.type, args["q"]) not in done:
            done[(self.type, args["q"])] = search(args["q"], [self.type])
        return done[(self.type, args["q"])]

    def found(self, args):
        """The condition: a document among those the search for `q` found."""
        return among(m.Document.record_no, self.searched(args).numbers())

    def total(self, args):
        """(total, exact) of the rows `args` select: counted at load for a whole collection or one
        single-column filter, from the word index for `q` alone, else counted under a budget."""
        filters = {key: value for key, value in args.items() if key not in NOT_FILTERS}
        if set(filters) == {"q"}:
            return len(self.searched(args).ranked), True
        dated = self.dated(args)
        if dated is not None:
            return dated.overlapping, True
        stored = stored_total(self.name, filters)
        if stored is not None:
            return stored, True
        return total_of(self.name, filters, lambda: budgeted_total(self.selected(args)))

    def dated(self, args):
        """The date range `args` ask for, measured from the running totals kept at load
        (api/query/days.py), or None; once per request: the total and the page both ask."""
        done = g.setdefault("dated", {})
        if self.name not in done:
            done[self.name] = days.measure(self.name, {key: value for key, value in args.items() if key not in NOT_FILTERS})
        return done[self.name]

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

    def export_length(self, args, query):
        """The bytes of the CSV export of `query`: stored at load for a whole collection (in
        any order), else summed over the rows `args` select."""
        whole = all(key in NOT_FILTERS and key != "cursor" for key in args)
        stored = stored_csv_bytes(self.name) if whole else None
        return len(header(self.record_schema)) + stored if stored is not None else export_length(self.record_schema, query)

    def kept_export(self, args, dataset):
        """(size, chunks) of the full export the load kept (api/query/files.py), if `args` ask
        for the whole collection in page order; else None (it is made from the compiled lines,
        as is the whole collection before the load has kept its file)."""
        if any(key not in NOT_FILTERS or key == "cursor" for key in args) or args.get("sort"):
            return None
        return files.kept_export(self.name, dataset.id)

    def selected(self, args):
        """The ids of the records `args` selects, every filter applied: read from the record
        table and its indexes, and from the documents only for `q` (their search numbers)."""
        if not args.get("q"):
            return self.narrowed(self.model.select(self.model.id), args)
        return self.narrowed(documents.joined(self.model, self.model.id), args).where(self.found(args))

    def page_of(self, args, keys, size):
        """`size` records after the cursor, in the order of `keys`, with their documents' bodies.

        One query (api.query.documents.page), whose subquery picks the page's keys from the
        record table and its indexes; only those records' documents are read. Sorting the rows
        with their documents attached read the body of every row the filters matched before the
        LIMIT cut them (1,485 bodies for a unit's month at 10^5 figures, to send 50:
        bench/RESULTS.md)."""
        ids = self.after_cursor(self.selected(args), keys, args).order_by(*order_by(keys)).limit(size)
        ids = ids.select(*(e.alias(e.column_name) for e in key_columns(keys)))
        dated = self.dated(args)
        if dated is not None and not dated.overlapping:
            ids = ids.where(SQL("1 = 0"))  # counted at load: nothing overlaps, nothing to read
        elif dated is not None and not args.get("sort") and not is_postgres():
            # A date range in page order: the index with the fewer entries to read (days.Range.index).
            ids = indexed_by(ids, dated.index(size - 1))
        return documents.page(ids, keys, self.type)

    def cursor_for(self, row, keys, args):
        values = [getattr(row, expression.column_name) for expression, _ in keys]
        return encode_cursor(current_app.config["CURSOR_SECRET"], self.name, ",".join(args.get("sort") or []), values)

    # -- views ------------------------------------------------------------------------

    def list(self, args, media=None):
        dataset = current_dataset()
        media = media or negotiate([JSON, CSV], args.get("format"))
        keys = self.sort_keys(args.get("sort"))
        if media == CSV:
            filename = f"civicfacts-{self.name}-{dataset.version}.csv"
            kept = self.kept_export(args, dataset)
            if kept is not None:
                size, body = kept
                return self.csv(body, filename, size)
            query = self.after_cursor(self.filtered(args, keys, m.Document.csv.alias("csv")), keys, args)
            length = self.export_length(args, query)
            return self.csv(export(self.record_schema, query.namedtuples(), keys), filename, length)
        limit = args["limit"]
        page = self.page_of(args, keys, limit + 1)
        more = len(page) > limit
        page = page[:limit]
        total, exact = self.total(args)
        next_url = url_with(cursor=self.cursor_for(page[-1], keys, args)) if more else None
        links = {"self": request.url, "next": next_url}
        meta = {"total": total, "total_is_exact": exact, "limit": limit, "dataset_version": dataset.version}
        bodies = [row.body for row in page]
        parts = [b'{"data":[', b",".join(bodies), b'],"links":', orjson.dumps(links), b',"meta":', orjson.dumps(meta)]
        if args.get("include"):
            extra = included(bodies, args["include"], {(self.type, row.id) for row in page})
            parts += [b',"included":[', b",".join(body for body, _ in extra), b"]"]
        response = Response(b"".join(parts + [b"}"]), mimetype=JSON)
        if next_url:
            response.headers["Link"] = f'<{next_url}>; rel="next"'
        return response

    def one(self, args, record_id, media=None):
        media = media or negotiate([JSON, CSV, JSONLD], args.get("format"))
        column = {JSON: m.Document.body, CSV: m.Document.csv, JSONLD: m.Document.jsonld}[media]
        dataset, found = current_record(self.type, record_id, column)
        if found is None:
            self.absent(record_id)
        content, digest = found
        if media == CSV:
            head, line = header(self.record_schema), bytes(content)
            response = self.csv(iter([head, line]), f"civicfacts-{self.name}-{record_id}-{dataset.version}.csv", len(head) + len(line))
            response.set_etag(f"{digest}-csv")
            return response
        if media == JSONLD:
            response = Response(documents.jsonld_bytes(content, request.host_url), mimetype=JSONLD)
            response.set_etag(f"{digest}-ld")
            return response
        parts = [b'{"data":', bytes(content), b',"links":', orjson.dumps({"self": request.base_url})]
        hashes = [digest]
        if args.get("include"):
            extra = included([content], args["include"], {(self.type, record_id)})
            parts += [b',"included":[', b",".join(body for body, _ in extra), b"]"]
            hashes += [h for _, h in extra]
        response = Response(b"".join(parts + [b"}"]), mimetype=JSON)
        response.set_etag(documents.combined_hash(*hashes, request.base_url))
        return response

    def absent(self, record_id):
        """404 for an id no version had; 410 Gone, with a link to its history, for a removed record."""
        removed_by = history.removal(self.type, record_id)
        if removed_by is None:
            abort(404, message=f"There is no {self.type} with id {record_id!r}.")
        url = url_for(f"{self.name}.History", record_id=record_id, _external=True)
        abort(
            410,
            message=f"The {self.type} {record_id!r} was removed by dataset version {removed_by.version}; its history is at {url}.",
            links={"history": url},
            headers={"Link": f'<{url}>; rel="history"'},
        )

    def history(self, record_id):
        current_dataset()
        negotiate([JSON])
        changes = [history.entry(change) for change in history.of_record(self.type, record_id)]
        if not changes:
            abort(404, message=f"There is no {self.type} with id {record_id!r}, and there never was.")
        return {"data": changes, "links": {"self": request.base_url, "record": url_for(f"{self.name}.One", record_id=record_id, _external=True)}}

    def csv(self, chunks, filename, length):
        """A CSV stream of `length` bytes. Its length is sent, counted before the first byte
        (werkzeug would read the whole stream into memory to find one): should the stream fail
        midway, the server must close the connection short of it, and the client knows."""
        response = Response(stream_with_context(chunks), mimetype=CSV)
        response.automatically_set_content_length = False
        response.content_length = length
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        response.set_etag(hashlib.sha256(f"{current_dataset().version} {request.full_path} csv".encode()).hexdigest()[:32])
        return response

    def _blueprint(self, description):
        # Prefixed /v1 only, so that /v1/figures.csv is a route of its own (a prefix /v1/figures would make it /v1/figures/.csv).
        blp = CivicBlueprint(self.name, __name__, url_prefix="/v1", description=description)
        collection = self
        # The CSV example is the header row the export really writes.
        csv_doc = {"text/csv": {"schema": {"type": "string"}, "example": ",".join(columns(self.record_schema)) + "\r\n"}}
        # The JSON-LD example is the head of the example record's document (an organisation's
        # example is a government body, hence the last of its types).
        record_example = self.examples["record_id"]
        jsonld_example = {
            "@context": "https://civicfacts.example/v1/context.jsonld",
            "@id": f"https://civicfacts.example/v1/{self.name}/{record_example}",
            "@type": SCHEMA_ORG_TYPES[self.type][-1],
            "identifier": record_example,
        }
        jsonld_doc = {JSONLD: {"schema": JSONLD_SCHEMA, "example": jsonld_example}}
        # operationIds name what a generated client's functions are called: listFigures, getFigure, getFigureHistory.
        plural, singular = self.name.capitalize(), self.type.capitalize()

        class List(MethodView):
            @blp.arguments(collection.query_schema, location="query")
            @blp.response(200, collection.list_schema, description=f"A page of {collection.name}", headers=PAGE_HEADERS)
            @blp.doc(responses={200: {"content": csv_doc}}, operationId=f"list{plural}")
            @documents_errors(blp, 304, 406, 503)
            def get(self, args):
                return collection.list(args)

        @one_statement
        class One(MethodView):
            @blp.arguments(collection.one_query_schema, location="query")
            @blp.response(200, collection.one_schema, description=f"One {collection.type}", headers=OK_HEADERS)
            @blp.doc(responses={200: {"content": {**csv_doc, **jsonld_doc}}}, operationId=f"get{singular}")
            @documents_errors(blp, 304, 404, 406, 410, 503)
            def get(self, args, record_id):
                return collection.one(args, record_id)

        history_example = {
            "data": [
                {
                    **EXAMPLE_CHANGE,
                    "collection": self.name,
                    "type": self.type,
                    "id": record_example,
                    "changes": [{"field": "note", "old": None, "new": "What the curators know beyond the page."}],
                }
            ],
            "links": {
                "self": f"https://civicfacts.example/v1/{self.name}/{record_example}/history",
                "record": f"https://civicfacts.example/v1/{self.name}/{record_example}",
            },
        }

        class History(MethodView):
            @blp.arguments(NO_PARAMS, location="query")
            @blp.response(200, envelopes.HistorySchema, description=f"The history of one {collection.type}", headers=OK_HEADERS)
            @blp.doc(responses={200: {"content": {JSON: {"example": history_example}}}}, operationId=f"get{singular}History")
            @documents_errors(blp, 304, 404, 406, 503)
            def get(self, args, record_id):
                return collection.history(record_id)

        disposition = {
            "description": "attachment; filename=civicfacts-<collection>[-<record id>]-<dataset version>.csv",
            "required": True,
            "schema": {"type": "string", "pattern": "^attachment; filename="},
        }
        csv_ok = {"content": csv_doc, "headers": {**OK_HEADERS, "Content-Disposition": disposition}}

        # CSV and JSON-LD as operations of their own: a generated client reads each operation's
        # 200 as one type, so /v1/figures (JSON) cannot also be its CSV for it.
        class ListCsv(MethodView):
            @blp.arguments(collection.csv_query_schema, location="query")
            @blp.doc(operationId=f"list{plural}Csv", responses={200: {"description": f"Every matching row of {collection.name}, as CSV", **csv_ok}})
            @documents_errors(blp, 304, 406, 503)
            def get(self, args):
                return collection.list(args, negotiate([CSV]))

        @one_statement
        class OneCsv(MethodView):
            @blp.arguments(NO_PARAMS, location="query")
            @blp.doc(operationId=f"get{singular}Csv", responses={200: {"description": f"One {collection.type}, as CSV", **csv_ok}})
            @documents_errors(blp, 304, 404, 406, 410, 503)
            def get(self, args, record_id):
                return collection.one(args, record_id, negotiate([CSV]))

        @one_statement
        class OneJsonld(MethodView):
            @blp.arguments(NO_PARAMS, location="query")
            @blp.doc(
                operationId=f"get{singular}Jsonld",
                responses={200: {"description": f"One {collection.type}, as JSON-LD", "content": jsonld_doc, "headers": OK_HEADERS}},
            )
            @documents_errors(blp, 304, 404, 406, 410, 503)
            def get(self, args, record_id):
                return collection.one(args, record_id, negotiate([JSONLD]))

        ListCsv.get.__doc__ = (
            f"List {self.name} as CSV\n\nEvery {self.type} the filters select (not a page), as CSV: UTF-8 with a BOM, "
            "one row per record, the same columns as the download's."
        )
        OneCsv.get.__doc__ = f"One {self.type} as CSV\n\nThe {self.type} with this id as one CSV row under its header row."
        OneJsonld.get.__doc__ = (
            f"One {self.type} as JSON-LD\n\nThe {self.type} with this id in schema.org terms "
            f"({' or '.join(SCHEMA_ORG_TYPES[self.type])}), its context /v1/context.jsonld."
        )
        List.get.__doc__ = (
            f"List {self.name}\n\nFilter, sort and page through {self.name} (keyset pages: follow links.next or the "
            f"Link header). CSV of every matching row at /v1/{self.name}.csv (or with Accept: text/csv)."
        )
        One.get.__doc__ = (
            f"One {self.type}\n\nThe {self.type} with this id; related records as typed references. "
            f"With Accept: application/ld+json, the same record in schema.org terms ({' or '.join(SCHEMA_ORG_TYPES[self.type])}) as JSON-LD."
        )
        blp.route(f"/{self.name}")(List)
        blp.route(f"/{self.name}.csv")(ListCsv)
        record_id = {"in": "path", "name": "record_id", "description": f"The id of a {self.type}", "example": self.examples["record_id"]}
        History.get.__doc__ = (
            f"The history of one {self.type}\n\nEvery version that added, changed or removed this {self.type}, newest "
            "first, each with what it changed: a removed record keeps its history."
        )
        blp.route(f"/{self.name}/<slug:record_id>", parameters=[record_id])(One)
        blp.route(f"/{self.name}/<slug:record_id>.csv", parameters=[record_id])(OneCsv)
        blp.route(f"/{self.name}/<slug:record_id>.jsonld", parameters=[record_id])(OneJsonld)
        blp.route(f"/{self.name}/<slug:record_id>/history", parameters=[record_id])(History)
        return blp
