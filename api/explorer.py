"""The explorer: the dataset as HTML pages for people, at `/` and under `/explore/`.

Rendered on the server with Jinja (autoescaped), with no script and no external asset, so
every page works without JavaScript. Korean and English stand side by side, each marked
with its `lang`. Pages read through api.records (`represent`, `fetch`): a fixed number of
queries a page, never one per row. A collection's filters are its API filters, as a
plain GET form; a field left blank means "any".
"""

import copy
import re

from flask import g, render_template, request, url_for
from flask.views import MethodView
from marshmallow import pre_load

from api import models as m
from api.charts import comparison_chart, parts_chart
from api.datapackage import COLLECTIONS
from api.downloads import download_links
from api.jsonld import to_jsonld
from api.pagination import order_by
from api.records import fetch, represent
from api.resources.collection import CivicBlueprint, abort, collect_refs, current_dataset, documents_errors, url_with
from api.schemas import QUALIFIERS, StrictQuerySchema

blp = CivicBlueprint(
    "explorer", __name__,
    description="The explorer: HTML pages for people (Korean and English), with filters, charts, quotes and downloads.",
)
PAGE_SIZE = 50
API_ONLY = {"limit", "include", "format"}  # list parameters that mean nothing on a page
# Filters that take a record id, and the collections their choices come from.
REFERENCE_FILTERS = {
    "source": ("sources",), "place": ("places",), "participant": ("organisations", "people"),
    "operator": ("organisations",), "organisation": ("organisations",),
}
DATE_FILTERS = {"from", "to", "active_on"}
# The fields a list shows beside the name, whose records it names.
SUMMARY = {
    "sources": ("publication",), "organisations": ("parent",), "people": ("affiliations",), "places": ("parent",),
    "events": ("place",), "programmes": ("parent", "operators"), "figures": ("subjects",),
}


def html(description):
    return {200: {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}}


class FormQuerySchema(StrictQuerySchema):
    @pre_load
    def drop_blanks(self, data, **kwargs):
        # A GET form sends its blank fields too: blank means "any", not a bad value.
        return {key: value for key, value in data.items() if not (value == "" and key in self.fields)}


def form_schema(collection):
    declared = collection.query_schema._declared_fields
    fields = {name: copy.deepcopy(field) for name, field in declared.items() if name not in API_ONLY}
    return type(f"Explore{collection.name.capitalize()}QuerySchema", (FormQuerySchema,), fields)


NO_PARAMS = type("ExploreQuerySchema", (StrictQuerySchema,), {})


# --- what pages share -----------------------------------------------------------------


def record_url(ref):
    return url_for("explorer.Record", collection=m.TYPE_COLLECTIONS[ref["type"]], record_id=ref["id"])


def vocabulary():
    """Labels of the kinds, roles and units, read once a request."""
    if "vocabulary" not in g:
        terms = {(t.scheme, t.code): {"ko": t.label_ko, "en": t.label_en} for t in m.Term.select()}
        units = {u.code: {"ko": u.label_ko, "en": u.label_en} for u in m.Unit.select().order_by(m.Unit.position)}
        g.vocabulary = terms, units
    return g.vocabulary


def related(records, names=None):
    """Every record the given ones refer to (in `names` fields only, if given), by (type, id)."""
    refs = []
    for record in records:
        for key, value in record.items():
            if names is None or key in names:
                collect_refs(value, refs)
    return {(r["type"], r["id"]): r for r in fetch(refs)}


def render(template, **context):
    terms, units = vocabulary()
    return render_template(
        f"explorer/{template}", record_url=record_url, terms=terms, units=units, downloads=download_links(),
        collections=list(COLLECTIONS), dataset=current_dataset(), **context,
    )


def highlight(text, needles):
    """`text` as [(part, is_hit)], the hits being the first of `needles` found in it."""
    for needle in needles:
        if needle and needle in text:
            parts = re.split(f"({re.escape(needle)})", text)
            return [(part, i % 2 == 1) for i, part in enumerate(parts) if part]
    return [(text, False)]


def needles(record):
    """What to pick out in a record's quotes: a figure's print, else its names."""
    if record["type"] == "figure":
        return [record["value_text"], record["value_text"].replace(" ", "")]
    return [record["name"]["ko"], *record["other_names"], record["name"]["en"]]


# --- the home page and the lists ------------------------------------------------------


@blp.route("/")
class Home(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses=html("The explorer's home page"))
    @documents_errors(blp, 304, 503)
    def get(self, args):
        """Explorer: home

        An HTML page for people: what the dataset holds (counts of each record type), the
        source articles, and the downloads. Korean and English; no script needed.
        """
        counts = {name: c.model.select().count() for name, c in COLLECTIONS.items()}
        articles = represent("sources", m.Source.select().order_by(m.Source.page_position, m.Source.id))
        return render("home.html", counts=counts, articles=articles)


def control(collection, name, field, terms, units):
    """One filter of a list page's form: its widget and its choices."""
    item = {"name": name, "value": request.args.get(name), "widget": "text", "options": []}
    if name == "sort":
        item["widget"] = "select"
        item["options"] = [(c, None, None) for c in sorted(field.choices, key=lambda c: (c.lstrip("-"), c))]
    elif name == "kind":
        scheme = f"{collection.type}_kind"
        item["widget"] = "select"
        item["options"] = [(code, t["ko"], t["en"]) for (s, code), t in terms.items() if s == scheme]
    elif name == "unit":
        item["widget"] = "select"
        item["options"] = [(code, u["ko"], u["en"]) for code, u in units.items()]
    elif name == "qualifier":
        item["widget"] = "select"
        item["options"] = [(code, None, None) for code in QUALIFIERS]
    elif name in REFERENCE_FILTERS or name in ("parent", "subject"):
        item["widget"] = "select"
        item["options"] = choices(collection, name)
    elif name in DATE_FILTERS:
        item["widget"] = "date"
    elif name == "q":
        item["widget"] = "search"
    return item


def choices(collection, name):
    """(id, ko, en) of the records a reference filter can name."""
    if name == "subject":
        link = m.FigureSubject
        subjects = link.select(link.subject_type, link.subject_id).distinct().tuples()
        found = related([{"subjects": [{"type": t, "id": i} for t, i in subjects]}])
        return sorted(((i, r["name"]["ko"], r["name"]["en"]) for (_, i), r in found.items()), key=lambda c: c[1])
    out = []
    for target in REFERENCE_FILTERS.get(name, (collection.name,)):
        model = COLLECTIONS[target].model
        rows = model.select(model.id, model.name_ko, model.name_en).order_by(model.position, model.id)
        if name == "parent":  # only records that are somebody's parent
            rows = rows.where(model.id.in_(model.select(model.parent).where(model.parent.is_null(False))))
        out += [(row.id, row.name_ko, row.name_en) for row in rows]
    return out


def list_page(collection, args):
    keys = collection.sort_keys(args.get("sort"))
    query = collection.filtered(args)
    total = query.count()
    rows = list(collection.after_cursor(query, keys, args).order_by(*order_by(keys)).limit(PAGE_SIZE + 1))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    records = represent(collection.name, rows)
    terms, units = vocabulary()
    fields = FORM_SCHEMAS[collection.name]().fields
    controls = [control(collection, n, f, terms, units) for n, f in fields.items() if n != "cursor"]
    chosen = {key: value for key, value in request.args.items() if value and key != "cursor"}
    return render(
        "list.html", collection=collection.name, records=records, total=total, controls=controls,
        related=related(records, SUMMARY[collection.name]), filtered=bool(chosen),
        csv_url=url_for(f"{collection.name}.List", format="csv", **chosen),
        next_url=url_with(cursor=collection.cursor_for(rows[-1], keys, args)) if more else None,
    )


def list_view(collection):
    class ListPage(MethodView):
        @blp.arguments(FORM_SCHEMAS[collection.name], location="query")
        @blp.doc(responses=html(f"A page of {collection.name}, as HTML"))
        @documents_errors(blp, 304, 503)
        def get(self, args):
            return list_page(collection, args)

    ListPage.get.__doc__ = (
        f"Explorer: {collection.name}\n\nAn HTML page of {collection.name} with the API's filters as a form "
        "(a blank field means any), 50 a page."
    )
    ListPage.__name__ = f"{collection.name.capitalize()}Page"
    return ListPage


FORM_SCHEMAS = {name: form_schema(collection) for name, collection in COLLECTIONS.items()}
for _name, _collection in COLLECTIONS.items():
    blp.route(f"/explore/{_name}", endpoint=_name)(list_view(_collection))


# --- one record -----------------------------------------------------------------------


@blp.route(f"/explore/<any({', '.join(COLLECTIONS)}):collection>/<string:record_id>")
class Record(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses=html("One record, as HTML"))
    @documents_errors(blp, 304, 404, 503)
    def get(self, args, collection, record_id):
        """Explorer: one record

        Every field of the record, its sources with the quotes highlighted, links to every
        related record; for a figure also its value as printed and as normalised, its
        qualifier and period, its consistency checks and charts of its parts or comparison.
        """
        current_dataset()
        model = COLLECTIONS[collection].model
        row = model.get_or_none(model.id == record_id)
        if row is None:
            abort(404, message=f"There is no {m.RECORD_TYPES[collection]} with id {record_id!r}.")
        record = represent(collection, [row])[0]
        linked = related([record])
        quotes = [
            {"source": linked[("source", c["source"])], "parts": highlight(c["evidence"], needles(record))}
            for c in record["sources"]
        ]
        return render(
            "record.html", collection=collection, record=record, related=linked, quotes=quotes,
            charts=charts(record, linked), cited=cited_here(record), jsonld=to_jsonld(record),
        )


def charts(record, linked):
    if record["type"] != "figure":
        return []
    out = [parts_chart(record, [linked[("figure", p["id"])] for p in record["parts"]])]
    for comparison in record["comparisons"]:
        pair = (linked[("figure", comparison[side]["id"])] for side in ("base", "current"))
        out.append(comparison_chart(record, *pair))
    return [chart for chart in out if chart is not None]


def cited_here(record):
    """For an article: each record it is cited for, with the quotes, in page order."""
    if record["type"] != "source":
        return []
    citations = m.Citation.select().where(m.Citation.source == record["id"]).order_by(m.Citation.id)
    by_record = {}
    for c in citations:
        by_record.setdefault((c.record_type, c.record_id), []).append(c.evidence)
    found = related([{"records": [{"type": t, "id": i} for t, i in by_record]}])
    return [
        {"record": found[key], "quotes": [highlight(q, needles(found[key])) for q in quotes]}
        for key, quotes in by_record.items() if key in found
    ]
