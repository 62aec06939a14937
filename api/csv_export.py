"""CSV that opens in a spreadsheet: UTF-8 with a BOM (so Excel shows the Korean), flat
columns (`name_ko`, `name_en`, `evidence`, ...), every matching row, streamed in batches."""

import csv
import io
from decimal import Decimal

from marshmallow import fields

from api.records import represent

BOM = "\ufeff"
LIST_SEPARATOR = "; "
QUOTE_SEPARATOR = " | "
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def columns(schema):
    """The flat column names for a record schema, in its field order."""
    out = []
    for name, field in schema().fields.items():
        if name == "name":
            out += ["name_ko", "name_en", "name_en_translated"]
        elif name == "sources":
            out += ["source", "evidence"]
        elif name == "period":
            out += ["period_start", "period_end"]
        elif name in ("eligibility", "benefits"):
            out += [f"{name}_ko", f"{name}_en"]
        elif isinstance(field, fields.Nested) or isinstance(field, fields.List):
            out.append(name)
        else:
            out.append(name)
    return out


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


def flatten(record):
    row = {}
    for key, value in record.items():
        if key == "name":
            row.update(name_ko=value["ko"], name_en=value["en"], name_en_translated=value["en_translated"])
        elif key == "sources":
            row["source"] = LIST_SEPARATOR.join(dict.fromkeys(c["source"] for c in value))
            row["evidence"] = QUOTE_SEPARATOR.join(c["evidence"] for c in value)
        elif key == "period":
            row.update(period_start=(value or {}).get("start"), period_end=(value or {}).get("end"))
        elif key == "eligibility":
            row.update(eligibility_ko=(value or {}).get("ko"), eligibility_en=(value or {}).get("en"))
        elif key == "benefits":
            row["benefits_ko"] = LIST_SEPARATOR.join(b["ko"] for b in value)
            row["benefits_en"] = LIST_SEPARATOR.join(b["en"] for b in value)
        elif isinstance(value, list):
            row[key] = LIST_SEPARATOR.join(_item(v) for v in value)
        elif isinstance(value, dict):
            row[key] = value.get("id")
        else:
            row[key] = value
    return row


def _text(value):
    """A cell. Numbers are written out in full (33.6, never 3.36e1), text is guarded: a spreadsheet
    may run a cell starting with = + - @ (or a tab or CR) as a formula, so such text gets a leading
    apostrophe (OWASP's advice), which makes the cell text. Only text: a number's cell is never altered."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def stream(collection, schema, batches):
    """Yield the CSV text: BOM and header, then one chunk per batch of rows (pagination.Batch)."""
    names = columns(schema)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    yield BOM + buffer.getvalue()
    for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        for record in represent(collection, rows, getattr(rows, "ids", None)):
            flat = flatten(record)
            writer.writerow([_text(flat.get(name)) for name in names])
        yield buffer.getvalue()
