"""What the dataset download holds, and its Frictionless Data description.

The tables: one CSV per record collection, the same CSV `/v1/{collection}.csv`
serves (one row per record, lists joined with '; '); the link tables, every relation one
row per link, so nothing is lost in the joining; and the vocabularies (units and terms)
the codes come from. `datapackage()` describes them all: columns, types, keys and units.
"""

import csv
import io
import json

from marshmallow import fields
from peewee import BooleanField, DateField, DecimalField, ForeignKeyField, IntegerField

from api.formats.about import INFO
from api.formats.csv_export import BOM, columns, export, rows
from api.formats.schemas import DateText, ExactNumber
from api.query.files import kept_export
from api.query.pagination import keyset_batches, page_order
from api.store import models as m

# One row per link; the vocabulary the codes in the other files come from. The search tables
# are left out of the zip: they are derived from the records, for the API's search only.
LINK_TABLES = [model for model in m.LINK_MODELS if model not in m.SEARCH_MODELS]
VOCABULARY_TABLES = [m.Unit, m.Term]
ORDER = {m.Unit: ("position", "code"), m.Term: ("scheme", "position", "code")}  # as vocabulary.yaml lists them


def table_name(model):
    if model in m.RECORD_MODELS.values():
        return next(name for name, record_model in m.RECORD_MODELS.items() if record_model is model)
    return model._meta.table_name


def table_fields(model):
    """The columns of a link or vocabulary table: its fields less the row counter."""
    return [f for f in model._meta.sorted_fields if f.name != "id" or not isinstance(f, IntegerField)]


def table_keys(model):
    """A unique order for `model`'s rows, as pagination keys: the whole table in keyset batches."""
    names = ORDER.get(model) or [f.name for f in model._meta.get_primary_keys()]
    return [(model._meta.fields[name], False) for name in names]


def collection_csv(record_type, dataset=None):
    """The chunks (bytes) of one collection's CSV (a RecordType of api/registry.py), exactly as
    `/v1/{collection}.csv` sends it: the lines compiled at load, in page order; read from the
    export the load of `dataset` kept (api/query/files.py), if it kept one."""
    found = kept_export(record_type.name, dataset.id) if dataset is not None else None
    if found is not None:
        return found[1]
    keys = page_order(record_type.model)
    return export(record_type.schema, rows(record_type.model, keys), keys)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def table_csv(model):
    """The chunks of one link or vocabulary table as CSV: a header, then one chunk a batch."""
    names = [f.name for f in table_fields(model)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    yield (BOM + buffer.getvalue()).encode("utf-8")
    for batch in keyset_batches(model.select().dicts(), table_keys(model)):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_cell(row[name]) for name in names] for row in batch)
        yield buffer.getvalue().encode("utf-8")


# --- the data package -----------------------------------------------------------------

FLAT_COLUMNS = {  # the columns csv_export makes of one nested field
    "name_ko": ("string", "The name in Korean"),
    "name_en": ("string", "The name in English"),
    "name_en_translated": ("boolean", "True when the English name is our translation, not an official name"),
    "source": ("string", "The ids of the source articles the record is cited from, joined with '; '"),
    "evidence": ("string", "The verbatim quotes from those articles, joined with ' | '"),
    "period_start": ("date", "The first day the figure covers"),
    "period_end": ("date", "The last day the figure covers"),
    "page_file": ("string", "The file of the archived page the article is on (seeds/pages/ in the repository; its text is not in this package)"),
    "page_sha256": ("string", "The SHA-256 of that file"),
    "page_first_line": ("integer", "The article's first line in the page file (empty: the whole file)"),
    "page_last_line": ("integer", "The article's last line in the page file (empty: the whole file)"),
}
RECORD_REFERENCES = {  # column -> the resource its ids are from
    "publication": "organisations",
    "author": "people",
    "place": "places",
    "unit": "unit",
}
NOTES = {  # what a column means where its schema field says too little on its own
    "type": "The record type: source, organisation, person, place, event, programme or figure",
    "unit": "The unit of `value`: a code from unit.csv, which names it in Korean and English (empty if none printed)",
    "value": "The number meant, exact, in the unit named by `unit`; `value_text` is how the page printed it",
    "qualifier": "How the page qualifies the number: exact, approximate (약), at_least (여, 이상) or at_most (이하)",
    "as_of": "The day the figure is stated as of (empty when it covers a period instead, or the page gives no date)",
    "discrepancy": "A mismatch in the page's own arithmetic, kept as printed (empty when there is none)",
    "kind": "A code from term.csv (scheme <record type>_kind), which names it in Korean and English",
    "other_names": "Other names, misprints as printed among them (several joined with '; ')",
    "comparisons": "Changes the figure states, as 'kind: base figure -> current figure' (figure_comparison.csv has them as rows)",
    "checks": "The loader's consistency checks, as 'kind: holds|FAILS (arithmetic)' (figure_check.csv has them as rows)",
    "headline": "The article's headline, as printed",
    "publication": "The id of the publishing organisation (organisations.csv)",
    "byline": "The byline, as printed",
    "author": "The id of the author (people.csv), when the byline names one",
    "published_on": "The day the article was published",
    "page_position": "The article's place on the page, 1 first",
    "parent": "The id of the record this one is part of, in the same file",
    "start_date": "The first day (empty when the page gives none)",
    "end_date": "The last day (empty when the page gives none)",
    "place": "The id of the place it happened (places.csv)",
}
REFERENCE_LIST = " (ids, several joined with '; '; a role or title in brackets)"


def field_type(field):
    if isinstance(field, DateText | fields.Date):
        return "date"
    if isinstance(field, ExactNumber):
        return "number"
    if isinstance(field, fields.Integer):
        return "integer"
    if isinstance(field, fields.Boolean):
        return "boolean"
    return "string"


def collection_schema(record_type):
    name = record_type.name
    schema = record_type.schema()
    out = []
    for column in columns(type(schema)):
        if column in FLAT_COLUMNS:
            kind, description = FLAT_COLUMNS[column]
        elif column.endswith(("_ko", "_en")):
            language = "Korean" if column.endswith("_ko") else "English"
            kind, description = "string", f"{column[:-3].capitalize()}, in {language} (several joined with '; ')"
        else:
            field = schema.fields[column]
            kind = field_type(field)
            description = field.metadata.get("description") or column.replace("_", " ").capitalize()
            if isinstance(field, fields.List):
                description += REFERENCE_LIST
        out.append({"name": column, "type": kind, "description": NOTES.get(column, description)})
    keys = []
    for column in (f["name"] for f in out):
        target = name if column == "parent" else RECORD_REFERENCES.get(column)
        if target:
            key = "code" if target == "unit" else "id"
            keys.append({"fields": column, "reference": {"resource": target, "fields": key}})
    return {"fields": out, "primaryKey": ["id"], "foreignKeys": keys}


TABLE_COLUMNS = {
    "record_type": "The type of the record (source, organisation, person, place, event, programme, figure)",
    "record_id": "The id of the record, in the CSV of its type",
    "evidence": "A verbatim quote from the source article",
    "subject_type": "The type of the record the figure is about",
    "subject_id": "The id of the record the figure is about",
    "position": "The order the seeds give",
    "holds": "Whether the check holds",
    "detail": "The arithmetic of the check",
    "label_ko": "The label in Korean",
    "label_en": "The label in English",
    "scheme": "The vocabulary: organisation_kind, place_kind, event_kind, programme_kind, participant_role or operator_role",
    "code": "The code the other files use",
    "role": "A code from term.csv (scheme participant_role or operator_role)",
    "title_ko": "The title as printed (단장, 교수, ...), empty if none",
    "title_en": "The title in English, empty if none",
    "field": "The field of the record the text is from",
    "note": "What the curators know beyond the page",
    "span_start": "Where the quote starts in the source's page file (a code point offset into the file read as UTF-8)",
    "span_end": "Where the quote ends in the page file (exclusive)",
    "context": "The sentence the quote stands in, as printed ('…' where a long one was cut)",
    "context_start": "Where the quote starts in `context`",
    "context_end": "Where the quote ends in `context` (exclusive)",
}
KINDS = {  # `kind` in a link table is not a record kind
    m.FigureCheck: "The check: parts_sum (the parts add up to the whole) or growth_rate (the rate follows from its two bases)",
    m.FigureComparison: "The kind of change stated: growth_rate",
}
PEEWEE_TYPES = ((BooleanField, "boolean"), (DateField, "date"), (DecimalField, "number"), (IntegerField, "integer"))


def model_schema(model):
    out, keys = [], []
    for field in table_fields(model):
        if isinstance(field, ForeignKeyField):
            target, key = table_name(field.rel_model), field.rel_field.name
            out.append({"name": field.name, "type": "string", "description": f"The {key} of a row of {target}.csv"})
            keys.append({"fields": field.name, "reference": {"resource": target, "fields": key}})
        else:
            kind = next((t for cls, t in PEEWEE_TYPES if isinstance(field, cls)), "string")
            description = KINDS[model] if field.name == "kind" else TABLE_COLUMNS.get(field.name, field.name.replace("_", " ").capitalize())
            out.append({"name": field.name, "type": kind, "description": description})
    schema = {"fields": out, "foreignKeys": keys}
    if model in VOCABULARY_TABLES:
        schema["primaryKey"] = [f.name for f in model._meta.get_primary_keys()]
    return schema


def resource(name, schema, description):
    return {
        "name": name,
        "path": f"{name}.csv",
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "description": description,
        "schema": schema,
    }


def datapackage(dataset, record_types):
    """The Frictionless description of the download of `dataset`; `record_types`: api/registry.py's."""
    resources = [resource(t.name, collection_schema(t), t.description) for t in record_types]
    for model in LINK_TABLES + VOCABULARY_TABLES:
        description = " ".join((model.__doc__ or f"The {table_name(model)} table").split())
        resources.append(resource(table_name(model), model_schema(model), description))
    return {
        "profile": "tabular-data-package",
        "name": "civicfacts",
        "title": "civicfacts: civic facts from one page of 광주일보 (Kwangju Ilbo), 2023-12-18",
        "description": INFO["description"].split("\n\n")[0],
        "version": dataset.version,
        "created": dataset.loaded_at.isoformat(timespec="seconds") + "Z",
        "licenses": [
            {
                "name": INFO["license"]["identifier"],
                "title": INFO["license"]["name"],
                "path": "https://creativecommons.org/licenses/by/4.0/",
            }
        ],
        "sources": [{"title": "광주일보 (Kwangju Ilbo), one printed page, 18 December 2023"}],
        "keywords": ["Gwangju", "광주", "local news", "civic data"],
        "resources": resources,
    }


def files(dataset, record_types):
    """(name, chunks) of every file in the download: the data package, then its CSVs. Each
    CSV is an iterator of byte chunks, so a caller writes it out without holding it whole."""
    yield "datapackage.json", iter([(json.dumps(datapackage(dataset, record_types), ensure_ascii=False, indent=2) + "\n").encode("utf-8")])
    for record_type in record_types:
        yield f"{record_type.name}.csv", collection_csv(record_type, dataset)
    for model in LINK_TABLES + VOCABULARY_TABLES:
        yield f"{table_name(model)}.csv", table_csv(model)
