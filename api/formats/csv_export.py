"""CSV that opens in a spreadsheet: UTF-8 with a BOM (so Excel shows the Korean), flat
columns (`name_ko`, `name_en`, `evidence`, ...), every matching row.

Each record's line is made once, at load (`line_maker`, used by api/ingest/compile.py); an
export is the header (`header`) and those lines, in order, written straight out."""

import csv
import io
from decimal import Decimal

from marshmallow import fields
from peewee import fn

from api.query.documents import Document, joined
from api.query.pagination import keyset_batches
from api.store.fastpath import fetched

BOM = "\ufeff"
LIST_SEPARATOR = "; "
QUOTE_SEPARATOR = " | "
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def columns(schema):
    """The flat column names for a record schema, in its field order."""
    return [name for name, _ in _layout(schema)]


def _item(value):
    """One element of a list-valued field as text."""
    if isinstance(value, dict):
        if "kind" in value and "base" in value:
            return f"{value['kind']}: {value['base']['id']} -> {value['current']['id']}"
        if "holds" in value:
            return f"{value['kind']}: {'holds' if value['holds'] else 'FAILS'} ({value['detail']})"
        if "organisation" in value and "title" in value:
            title = (value.get("title") or {}).get("ko")
            return value["organisation"]["id"] + (f" ({title})" if title else "")
        extra = value.get("role") or (value.get("title") or {}).get("ko")
        return value["id"] + (f" ({extra})" if extra else "")
    return str(value)


def _string(value):
    """A text cell, guarded: a spreadsheet may run a cell starting with = + - @ (or a tab or CR) as a
    formula, so such text gets a leading apostrophe (OWASP's advice), which makes the cell text."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def _number(value):
    """A number's cell, written out in full (33.6, never 3.36e1) and never altered."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)


def _boolean(value):
    return "" if value is None else ("true" if value else "false")


def _part(key, part, cell=_string):
    return lambda record: cell((record[key] or {}).get(part))


def _joined(key, item, separator=LIST_SEPARATOR):
    return lambda record: _string(separator.join(item(value) for value in record[key]))


def _sources(record):
    return _string(LIST_SEPARATOR.join(dict.fromkeys(c["source"] for c in record["sources"])))


def _cell(key, field):
    if isinstance(field, fields.List):
        return _joined(key, _item)
    if isinstance(field, fields.Nested):
        return _part(key, "id")
    if isinstance(field, fields.Boolean):
        return lambda record: _boolean(record[key])
    if isinstance(field, fields.Number):
        return lambda record: _number(record[key])
    return lambda record: _string(record[key])


def _layout(schema):
    """(column name, function making that column's cell from a represented record), in the
    schema's field order: nested names, quotes, periods and texts are spread over columns."""
    out = []
    for key, field in schema().fields.items():
        if key == "name":
            out += [("name_ko", _part(key, "ko")), ("name_en", _part(key, "en")), ("name_en_translated", _part(key, "en_translated", _boolean))]
        elif key == "sources":
            out += [("source", _sources), ("evidence", _joined(key, lambda c: c["evidence"], QUOTE_SEPARATOR))]
        elif key == "period":
            out += [("period_start", _part(key, "start")), ("period_end", _part(key, "end"))]
        elif key == "page":
            lines = lambda part: lambda record: _number(((record["page"] or {}).get("lines") or {}).get(part))  # noqa: E731
            out += [
                ("page_file", _part(key, "file")),
                ("page_sha256", _part(key, "sha256")),
                ("page_first_line", lines("first")),
                ("page_last_line", lines("last")),
            ]
        elif key == "eligibility":
            out += [("eligibility_ko", _part(key, "ko")), ("eligibility_en", _part(key, "en"))]
        elif key == "benefits":
            out += [("benefits_ko", _joined(key, lambda b: b["ko"])), ("benefits_en", _joined(key, lambda b: b["en"]))]
        else:
            out.append((key, _cell(key, field)))
    return out


def header(schema):
    """The first bytes of an export: the BOM and the header line, UTF-8."""
    return (BOM + ",".join(columns(schema)) + "\r\n").encode("utf-8")


def line_maker(schema):
    """A function making the CSV line (UTF-8 bytes, CRLF at its end) of a represented record of
    this schema: its cells laid out as `columns` names them, text that a spreadsheet would run
    defused."""
    makers = [make for _, make in _layout(schema)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(record):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([make(record) for make in makers])
        return buffer.getvalue().encode("utf-8")

    return line


def export(schema, query, keys):
    """The chunks (bytes) of a CSV export: the header, then the compiled line of every row of
    `query` (a select of a record table made with `rows`) in the order of `keys`, a batch at a time."""
    yield header(schema)
    for batch in keyset_batches(query, keys, fetch=fetched):
        yield b"".join(row.csv for row in batch)


def export_length(schema, query):
    """The bytes `export` sends for `query`: the header and the sum of the compiled lines'
    lengths, one aggregate query in the request's snapshot. Sent as Content-Length, it lets
    every client tell an export cut short (the database lost midway) from a whole one: a
    chunked body would end cleanly whatever happened, as granian ends it."""
    lines = query.columns(fn.COALESCE(fn.SUM(fn.LENGTH(Document.csv)), 0)).order_by().scalar()
    return len(header(schema)) + int(lines)


def rows(model, keys, *where):
    """A select of `model`'s rows with the columns of `keys` and their compiled CSV lines."""
    query = joined(model, *(expression.alias(expression.column_name) for expression, _ in keys), Document.csv.alias("csv"))
    for condition in where:
        query = query.where(condition)
    return query.namedtuples()
