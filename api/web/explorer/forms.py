"""The explorer's filter forms: each list page's form is its collection's API filters.

The form's query schema is the API's, less what means nothing on a page (`limit`,
`include`, `format`), as a FormQuerySchema (a blank field means "any"); so a filter the
explorer shows is exactly the filter `/v1/{collection}` applies, and the page and the API
list the same rows. Each control is a widget with its choices, read with a fixed number of
queries: the vocabulary once a request, one query per filter that names records.
"""

import copy

from flask import g, request

from api.formats.schemas import QUALIFIERS
from api.query import documents
from api.query.records import collect_refs
from api.store import models as m
from api.store.fastpath import in_select
from api.web.params import FormQuerySchema
from api.web.resources import COLLECTIONS

API_ONLY = {"limit", "include", "format", "changed_since"}
# Filters that take a record id, and the collections their choices come from.
REFERENCE_FILTERS = {
    "source": ("sources",),
    "place": ("places",),
    "participant": ("organisations", "people"),
    "operator": ("organisations",),
    "organisation": ("organisations",),
}
DATE_FILTERS = {"from", "to", "active_on"}
# Past this many records a choice list would outweigh the page: the filter takes an id typed in.
MAX_CHOICES = 300
NUMBER_FILTERS = {"min", "max"}


def form_schema(collection):
    declared = collection.query_schema._declared_fields
    fields = {name: copy.deepcopy(field) for name, field in declared.items() if name not in API_ONLY}
    return type(f"Explore{collection.name.capitalize()}QuerySchema", (FormQuerySchema,), fields)


FORM_SCHEMAS = {name: form_schema(collection) for name, collection in COLLECTIONS.items()}


def vocabulary():
    """Labels of the kinds, roles and units, read once a request."""
    if "vocabulary" not in g:
        terms = {(t.scheme, t.code): {"ko": t.label_ko, "en": t.label_en} for t in m.Term.select().order_by(m.Term.scheme, m.Term.position)}
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
    return {(r["type"], r["id"]): r for r in documents.records(refs)}


def choices(collection, name):
    """(id, ko, en) of the records a reference filter can name, or None when there are too many to list."""
    if name == "subject":
        link = m.FigureSubject
        subjects = list(link.select(link.subject_type, link.subject_id).distinct().limit(MAX_CHOICES + 1).tuples())
        if len(subjects) > MAX_CHOICES:
            return None
        found = related([{"subjects": [{"type": t, "id": i} for t, i in subjects]}])
        return sorted(((i, r["name"]["ko"], r["name"]["en"]) for (_, i), r in found.items()), key=lambda c: c[1])
    out = []
    for target in REFERENCE_FILTERS.get(name, (collection.name,)):
        model = COLLECTIONS[target].model
        rows = model.select(model.id, model.name_ko, model.name_en).order_by(model.position, model.id)
        if name == "parent":  # only records that are somebody's parent
            rows = rows.where(in_select(model.id, model.select(model.parent).where(model.parent.is_null(False))))
        out += [(row.id, row.name_ko, row.name_en) for row in rows.limit(MAX_CHOICES + 1 - len(out))]
        if len(out) > MAX_CHOICES:
            return None
    return out


def control(collection, name, field):
    """One filter of a list page's form: its widget, its current value and its choices."""
    terms, units = vocabulary()
    item = {"name": name, "value": request.args.get(name, ""), "widget": "text", "options": []}
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
        options = choices(collection, name)
        item["widget"], item["options"] = ("select", options) if options is not None else ("id", [])
    elif name in DATE_FILTERS:
        item["widget"] = "date"
    elif name in NUMBER_FILTERS:
        item["widget"] = "number"
    elif name == "q":
        item["widget"] = "search"
    return item


def controls(collection):
    """The controls of `collection`'s form, in the order of its API parameters."""
    fields = FORM_SCHEMAS[collection.name]().fields
    return [control(collection, name, field) for name, field in fields.items() if name != "cursor"]
