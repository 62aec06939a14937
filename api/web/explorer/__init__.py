"""The explorer: the dataset as HTML pages for people, at `/` and under `/explore/`.

Rendered on the server with Jinja (autoescaped), with no script and no external asset (one
stylesheet, served from here), so every page works without JavaScript and under a strict
Content-Security-Policy. Korean and English stand side by side, each marked with its `lang`.
Pages read the records as compiled at load (api/query/documents.py): a fixed number of
queries a page, never one per row. A collection's filters are its API filters, as a plain GET form
(forms.py); a field left blank means "any".
"""

import functools
import hashlib
import pathlib
import re

import orjson
from flask import Response, current_app, render_template, request, url_for
from flask.views import MethodView
from flask_smorest import abort

from api.formats.charts import comparison_chart, number_text, parts_chart
from api.formats.jsonld import JSONLD, to_jsonld
from api.query import documents, history
from api.query.pagination import CursorError, decode_cursor, encode_cursor
from api.store import models as m
from api.web.blueprint import OK_HEADERS, CivicBlueprint, documents_errors, url_with
from api.web.dataset import current_dataset
from api.web.downloads import download_links
from api.web.explorer.forms import FORM_SCHEMAS, controls, related, vocabulary
from api.web.params import NOT_CSV, StrictQuerySchema, cursor_param
from api.web.resources import COLLECTIONS
from api.web.responses import negotiate

HTML = "text/html"
CSS = "text/css"
# Stricter than the docs' policy: no script at all, styles only from the stylesheet.
STYLESHEET = pathlib.Path(__file__).parent / "static" / "explorer.css"
PAGE_SIZE = 50
# The fields a list shows beside the name, whose records it names.
SUMMARY = {
    "sources": ("publication",),
    "organisations": ("parent",),
    "people": ("affiliations",),
    "places": ("parent",),
    "events": ("place",),
    "programmes": ("parent", "operators"),
    "figures": ("subjects",),
}

blp = CivicBlueprint(
    "explorer",
    __name__,
    template_folder="templates",
    description="The explorer: HTML pages for people (Korean and English), with filters, charts, quotes and downloads.",
)
NO_PARAMS = type("ExploreQuerySchema", (StrictQuerySchema,), {})


def html(description):
    return {200: {"description": description, "content": {HTML: {"schema": {"type": "string"}}}, "headers": OK_HEADERS}}


# --- what pages share -----------------------------------------------------------------


def record_url(ref):
    return url_for("explorer.Record", collection=m.TYPE_COLLECTIONS[ref["type"]], record_id=ref["id"])


def render(template, **context):
    terms, units = vocabulary()
    body = render_template(
        f"explorer/{template}",
        record_url=record_url,
        terms=terms,
        units=units,
        downloads=download_links(),
        collections=list(COLLECTIONS),
        dataset=current_dataset(),
        number_text=number_text,
        **context,
    )
    return Response(body, mimetype=HTML)  # api/guard.py gives it the explorer's CSP


def highlight(text, needles):
    """`text` as [(part, is_hit)], the hits being the first of `needles` found in it."""
    for needle in needles:
        if needle and needle in text:
            parts = re.split(f"({re.escape(needle)})", text)
            return [(part, i % 2 == 1) for i, part in enumerate(parts) if part]
    return [(text, False)]


def in_sentence(evidence, context, needles):
    """A quote in its sentence: {"before", "parts", "after"}, `parts` being the quote as
    `highlight` splits it. A citation loaded before spans were kept has no sentence: the
    quote alone."""
    if context is None:
        return {"before": "", "parts": highlight(evidence, needles), "after": ""}
    text, start, end = context["text"], context["start"], context["end"]
    return {"before": text[:start], "parts": highlight(text[start:end], needles), "after": text[end:]}


def needles(record):
    """What to pick out in a record's quotes: a figure's print, else its names."""
    if record["type"] == "figure":
        return [record["value_text"], record["value_text"].replace(" ", "")]
    return [record["name"]["ko"], *record["other_names"], record["name"]["en"]]


# --- the home page, the stylesheet and the lists --------------------------------------


@blp.route("/")
class Home(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses=html("The explorer's home page"))
    @documents_errors(blp, 304, 406, 503)
    def get(self, args):
        """Explorer: home

        An HTML page for people: what the dataset holds (counts of each record type), the
        source articles, and the downloads. Korean and English; no script needed.
        """
        negotiate([HTML])
        counts = {name: c.model.select().count() for name, c in COLLECTIONS.items()}
        articles = sorted(documents.in_order(m.Source), key=lambda a: (a["page_position"], a["id"]))
        return render("home.html", counts=counts, articles=articles)


@functools.cache
def stylesheet():
    body = STYLESHEET.read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:32]


@blp.route("/explore/explorer.css")
class Stylesheet(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses={200: {"description": "The explorer's style sheet", "content": {CSS: {"schema": {"type": "string"}}}, "headers": OK_HEADERS}})
    @documents_errors(blp, 304, 406)
    def get(self, args):
        """Explorer: style sheet

        The one style sheet every explorer page loads.
        """
        negotiate([CSS])
        body, etag = stylesheet()
        response = Response(body, mimetype=CSS)
        response.set_etag(etag)
        return response


def list_page(collection, args):
    keys = collection.sort_keys(args.get("sort"))
    total, exact = collection.total(args)
    rows = collection.page_of(args, keys, PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    records = [orjson.loads(row.body) for row in rows]
    chosen = {key: value for key, value in request.args.items() if value and key != "cursor"}
    return render(
        "list.html",
        collection=collection.name,
        records=records,
        total=total,
        total_is_exact=exact,
        controls=controls(collection),
        related=related(records, SUMMARY[collection.name]),
        filtered=bool(chosen),
        csv_url=url_for(f"{collection.name}.ListCsv", **{key: value for key, value in chosen.items() if key not in NOT_CSV}),
        next_url=url_with(cursor=collection.cursor_for(rows[-1], keys, args)) if more else None,
    )


def list_view(collection):
    class ListPage(MethodView):
        @blp.arguments(FORM_SCHEMAS[collection.name], location="query")
        @blp.doc(responses=html(f"A page of {collection.name}, as HTML"))
        @documents_errors(blp, 304, 406, 503)
        def get(self, args):
            negotiate([HTML])
            current_dataset()
            return list_page(collection, args)

    ListPage.get.__doc__ = (
        f"Explorer: {collection.name}\n\nAn HTML page of {collection.name}, {PAGE_SIZE} a page, with the filters of "
        f"/v1/{collection.name} as a form (a blank field means any), and a link to the same list as CSV."
    )
    ListPage.__name__ = f"{collection.name.capitalize()}Page"
    return ListPage


for _name, _collection in COLLECTIONS.items():
    blp.route(f"/explore/{_name}", endpoint=_name)(list_view(_collection))


# --- one record -----------------------------------------------------------------------


@blp.route(f"/explore/<any({', '.join(COLLECTIONS)}):collection>/<slug:record_id>")
class Record(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses=html("One record, as HTML"))
    @documents_errors(blp, 304, 404, 406, 503)
    def get(self, args, collection, record_id):
        """Explorer: one record

        Every field of the record, its sources with the quotes highlighted, links to every
        related record; for a figure also its value as printed and as normalised, its
        qualifier and period, its consistency checks and charts of its parts or comparison.
        The page embeds the record's JSON-LD (schema.org).
        """
        negotiate([HTML])
        current_dataset()
        found = documents.one(m.RECORD_TYPES[collection], record_id)
        if found is None:
            abort(404, message=f"There is no {m.RECORD_TYPES[collection]} with id {record_id!r}.")
        record = orjson.loads(found[0])
        linked = related([record])
        quotes = [{"source": linked[("source", c["source"])], **in_sentence(c["evidence"], c["context"], needles(record))} for c in record["sources"]]
        return render(
            "record.html",
            collection=collection,
            record=record,
            related=linked,
            quotes=quotes,
            charts=charts(record, linked),
            cited=cited_here(record, linked),
            history=[history.entry(change) for change in history.of_record(record["type"], record_id)],
            jsonld=to_jsonld(record, request.host_url),
            jsonld_type=JSONLD,
            api_url=url_for(f"{collection}.One", record_id=record_id),
        )


CORRECTIONS_PARAMS = type("ExploreCorrectionsQuerySchema", (StrictQuerySchema,), {"cursor": cursor_param()})


@blp.route("/explore/corrections")
class Corrections(MethodView):
    @blp.arguments(CORRECTIONS_PARAMS, location="query")
    @blp.doc(responses=html("The records loads changed, with before and after, as HTML"))
    @documents_errors(blp, 304, 400, 406, 503)
    def get(self, args):
        """Explorer: corrections

        Every record a load changed, newest first, each field that changed with what it said
        before and after (the change feed's `changed` entries), {PAGE_SIZE} a page.
        """
        negotiate([HTML])
        current_dataset()
        query = history.feed(kind="changed").order_by(m.RecordChange.id.desc())
        if args.get("cursor"):
            try:
                (last,) = decode_cursor(current_app.config["CURSOR_SECRET"], args["cursor"], "corrections", "")
                if type(last) is not int or not 0 <= last < 1 << 63:
                    raise CursorError("not a cursor this API issued (bad position)")
            except (CursorError, ValueError) as exc:
                abort(400, message=f"cursor: {exc}", errors=[{"parameter": "cursor", "message": str(exc)}])
            query = query.where(m.RecordChange.id < last)
        rows = list(query.limit(PAGE_SIZE + 1))
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        corrections = [history.entry(change) for change in rows]
        next_url = url_with(cursor=encode_cursor(current_app.config["CURSOR_SECRET"], "corrections", "", [rows[-1].id])) if more else None
        linked = related([{"refs": [{"type": c["type"], "id": c["id"]} for c in corrections], "changes": [c["changes"] for c in corrections]}])
        return render("corrections.html", corrections=corrections, related=linked, next_url=next_url)


Corrections.get.__doc__ = Corrections.get.__doc__.replace("{PAGE_SIZE}", str(PAGE_SIZE))


def charts(record, linked):
    if record["type"] != "figure":
        return []
    out = [parts_chart(record, [linked[("figure", p["id"])] for p in record["parts"]])]
    for comparison in record["comparisons"]:
        pair = (linked[("figure", comparison[side]["id"])] for side in ("base", "current"))
        out.append(comparison_chart(record, *pair))
    return [chart for chart in out if chart is not None]


def cited_here(record, linked):
    """For an article: each record it is cited for, with its quotes from it, in page order."""
    if record["type"] != "source":
        return []
    citations = m.Citation.select().where(m.Citation.source == record["id"]).order_by(m.Citation.position, m.Citation.id)
    by_record = {}
    for c in citations:
        context = None if c.context is None else {"text": c.context, "start": c.context_start, "end": c.context_end}
        by_record.setdefault((c.record_type, c.record_id), []).append((c.evidence, context))
    order = [(ref["type"], ref["id"]) for ref in record["records"]]  # as the article's document lists them
    return [
        {"record": linked[key], "quotes": [in_sentence(q, context, needles(linked[key])) for q, context in by_record[key]]}
        for key in order
        if key in by_record and key in linked
    ]
