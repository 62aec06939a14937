"""/v1 (the index), /v1/units and /v1/search."""

import orjson
from flask import Response, current_app, request, url_for
from flask.views import MethodView
from flask_smorest import abort
from peewee import fn

from api.formats.jsonld import JSONLD, context_document
from api.query.pagination import CursorError, decode_cursor, encode_cursor
from api.query.search import MAX_SCORE, RANK_BUDGET, search
from api.store import models as m
from api.store.fastpath import rows_among_each
from api.web import envelopes, params
from api.web.blueprint import OK_HEADERS, PAGE_HEADERS, CivicBlueprint, documents_errors, url_with
from api.web.dataset import current_dataset
from api.web.downloads import download_links
from api.web.replication import database_state
from api.web.responses import JSON, negotiate

blp = CivicBlueprint("index", __name__, url_prefix="/v1", description="The index, the unit vocabulary and search across every collection.")
NO_PARAMS = type("NoQuerySchema", (params.StrictQuerySchema,), {})


@blp.route("")
class Index(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(operationId="getIndex")
    @blp.response(200, envelopes.IndexSchema, headers=OK_HEADERS)
    @documents_errors(blp, 304, 406, 503)
    def get(self, args):
        """The index

        Links to every collection with its count, the dataset version and load time, and the
        database this server reads: the primary, or a replica and how far behind it is.
        """
        negotiate([JSON])
        dataset = current_dataset()
        collections = {
            name: {"href": url_for(f"{name}.List", _external=True), "count": model.select().count()} for name, model in m.RECORD_MODELS.items()
        }
        return {
            "data": {
                "collections": collections,
                "dataset": {"version": dataset.version, "loaded_at": dataset.loaded_at.isoformat() + "Z"},
                "database": database_state()[0],
                "links": {
                    "units": url_for("index.Units", _external=True),
                    "search": url_for("index.Search", _external=True),
                    "openapi": url_for("docs.OpenapiJson", _external=True),
                    "docs": url_for("docs.Docs", _external=True),
                    "explorer": url_for("explorer.Home", _external=True),
                    "versions": url_for("changes.Versions", _external=True),
                    "changes": url_for("changes.Changes", _external=True),
                    "health": url_for("health.Health", _external=True),
                    **download_links(),
                },
            },
            "links": {"self": request.base_url},
        }


@blp.route("/units")
class Units(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(operationId="listUnits")
    @blp.response(200, envelopes.UnitListSchema, headers=OK_HEADERS)
    @documents_errors(blp, 304, 406, 503)
    def get(self, args):
        """The unit vocabulary

        Every unit a figure may be in, labelled in Korean and English, with how many figures use it.
        """
        negotiate([JSON])
        dataset = current_dataset()
        used = dict(m.Figure.select(m.Figure.unit, fn.COUNT(m.Figure.id)).group_by(m.Figure.unit).tuples())
        units = [
            {"code": u.code, "label": {"ko": u.label_ko, "en": u.label_en, "en_translated": True}, "note": u.note, "figures": used.get(u.code, 0)}
            for u in m.Unit.select().order_by(m.Unit.position)
        ]
        return {
            "data": units,
            "links": {"self": request.url, "next": None},
            "meta": {"total": len(units), "total_is_exact": True, "limit": len(units), "dataset_version": dataset.version},
        }


CONTEXT = orjson.dumps(context_document(), option=orjson.OPT_INDENT_2)
CONTEXT_SCHEMA = {"type": "object", "required": ["@context"], "properties": {"@context": {"type": "object"}}}
# It changes only with the code (a new term), never with the data: a day in caches, then
# revalidated by its ETag.
CONTEXT_CACHING = "public, max-age=86400"


@blp.route("/context.jsonld")
class Context(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(
        operationId="getJsonldContext",
        responses={
            200: {
                "description": "The JSON-LD context of every record's JSON-LD",
                "content": {media: {"schema": CONTEXT_SCHEMA, "example": context_document()} for media in (JSONLD, JSON)},
                "headers": OK_HEADERS,
            }
        },
    )
    @documents_errors(blp, 304, 406)
    def get(self, args):
        """The JSON-LD context

        The schema.org terms the records' JSON-LD uses (`Accept: application/ld+json` on a
        record, and the explorer's pages), each mapped to its schema.org IRI. Every document
        names this context rather than schema.org's, so a JSON-LD processor reads it once, or
        from a copy, and expands the records without the network.
        """
        response = Response(CONTEXT, mimetype=negotiate([JSONLD, JSON]))
        response.headers["Cache-Control"] = CONTEXT_CACHING
        return response


@blp.route("/search")
class Search(MethodView):
    @blp.arguments(params.SearchQuerySchema, location="query")
    @blp.doc(operationId="search")
    @blp.response(200, envelopes.SearchListSchema, headers=PAGE_HEADERS)
    @documents_errors(blp, 304, 406, 503)
    def get(self, args):
        """Search every collection

        Korean of two or more syllables matches inside words (김장 finds 빛고을사랑나눔김장대전);
        English matches regardless of case. Hits are typed, ranked (a name beats a quote; a
        whole or leading match beats one inside) and say which field matched. A word so common
        that its index holds more than 20,000 entries is paged without being counted: `total`
        is then null and `total_is_exact` false. A common word (김장, tourism) is the
        exception: the load keeps its ranking, and its `total` is exact.
        """
        negotiate([JSON])
        dataset = current_dataset()
        results = search(args["q"], args.get("type"), budget=RANK_BUDGET)
        limit = args["limit"]
        numbers, scores, more = results.window(_position(args["cursor"]) if args.get("cursor") else None, limit)
        page = results.hits(numbers)
        names = _names(page)
        hrefs = _href_prefixes({h.record_type for h in page})
        data = [
            {
                "type": h.record_type,
                "id": h.record_id,
                "name": names[(h.record_type, h.record_id)],
                "matched": {"field": h.field, "text": h.text},
                "score": h.score,
                "href": hrefs[h.record_type] + h.record_id,
            }
            for h in page
        ]
        next_url = url_with(cursor=_cursor(int(scores[-1]), int(numbers[-1]))) if more else None
        exact = results.total is not None
        body = {
            "data": data,
            "links": {"self": request.url, "next": next_url},
            "meta": {"total": results.total, "total_is_exact": exact, "limit": limit, "dataset_version": dataset.version},
        }
        # Made here, as the lists make theirs, rather than dumped through the schema (a third of
        # a full page's time): the contract tests validate it against SearchListSchema all the same.
        response = Response(orjson.dumps(body), mimetype=JSON)
        if next_url:
            response.headers["Link"] = f'<{next_url}>; rel="next"'
        return response


NAME_COLUMNS = ("id", "name_ko", "name_en", "name_en_translated")


def _names(hits):
    """{(type, id): name} of the hits' records, in one statement whatever their types."""
    by_type = {}
    for h in hits:
        by_type.setdefault(h.record_type, []).append(h.record_id)
    if not by_type:
        return {}
    types = sorted(by_type)
    selections = [(m.RECORD_MODELS[m.TYPE_COLLECTIONS[t]], by_type[t]) for t in types]
    return {
        (types[k], record_id): {"ko": ko, "en": en, "en_translated": bool(en_translated)}  # 0/1 on SQLite
        for k, record_id, ko, en, en_translated in rows_among_each(selections, NAME_COLUMNS, "id")
    }


def _href_prefixes(record_types):
    """{type: its records' URL up to the id}: one url_for per type, not per hit. Ids are slugs
    (api/web/params.py), which a URL carries as they are."""
    out = {}
    for record_type in record_types:
        url = url_for(f"{m.TYPE_COLLECTIONS[record_type]}.One", record_id="x", _external=True)
        out[record_type] = url[:-1]
    return out


# Search results are ranked by (score, record number), and a cursor names the last hit's: the
# next page starts after it in the ranking, whatever was loaded meanwhile.
def _cursor(score, number):
    return encode_cursor(current_app.config["CURSOR_SECRET"], "search", "", [score, number])


def _position(cursor):
    try:
        values = decode_cursor(current_app.config["CURSOR_SECRET"], cursor, "search", "")
        if len(values) != 2 or any(type(v) is not int for v in values):  # bool is an int to isinstance
            raise CursorError("not a search cursor")
        score, number = values
        if not (0 <= score <= MAX_SCORE and 0 <= number < 1 << 32):
            raise CursorError("not a search cursor (its position is out of range)")
        return score, number
    except (CursorError, ValueError) as exc:
        abort(400, message=f"cursor: {exc}", errors=[{"parameter": "cursor", "message": str(exc)}])
