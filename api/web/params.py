"""What the API takes: query parameter schemas, strict about what they accept.

Every schema refuses an unknown parameter (a typo is a 400 naming it, never silently
ignored) and reads numbers in ASCII only. flask-smorest documents them in openapi.yaml.
"""

import copy
import re
from decimal import Decimal, InvalidOperation

import marshmallow as ma
from marshmallow import fields, validate

from api.formats.schemas import TYPES

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
CURSOR = r"^[A-Za-z0-9_-]+$"


class AsciiInteger(fields.Integer):
    """Digits 0-9 only: Python's int() would take full-width '５０' or '1_000' silently."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(r"-?[0-9]{1,9}", value):
            raise ma.ValidationError("Not a valid integer: use ASCII digits 0-9.")
        return super()._deserialize(value, attr, data, **kwargs)


class AsciiDecimal(fields.Decimal):
    """A JSON number in ASCII (`12`, `-0.5`, `1.5e+9`): what a client's number serializer writes.

    Figures are stored with at most 6 decimals and under 10^24 in magnitude, so a bound beyond
    10^30 (or a non-zero one nearer zero than 10^-30) compares exactly as the nearest of those
    does; it is clamped there, so no database sees an exponent it cannot hold.
    """

    NUMBER = re.compile(r"-?[0-9]{1,400}(\.[0-9]{1,400})?([eE]([+-]?)[0-9]{1,400})?")
    LIMIT = Decimal("1e30")
    TINY = Decimal("1e-30")

    def _deserialize(self, value, attr, data, **kwargs):
        match = self.NUMBER.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise ma.ValidationError("Not a valid number: use ASCII digits, an optional '-', '.' and exponent.")
        try:
            number = Decimal(value)
        except InvalidOperation:  # an exponent beyond what Decimal holds: enormous, or next to zero
            mantissa = Decimal(value[: match.start(2)])
            if not mantissa:
                return mantissa
            return (self.TINY if match.group(3) == "-" else self.LIMIT).copy_sign(mantissa)
        magnitude = number.copy_abs()  # exact: abs() would round
        if magnitude > self.LIMIT:
            return self.LIMIT.copy_sign(number)
        if 0 < magnitude < self.TINY:
            return self.TINY.copy_sign(number)
        return number


class CommaList(fields.String):
    """`a,b,c` -> ['a', 'b', 'c'], each one of `choices`; the spec gives the exact pattern."""

    def __init__(self, choices, **kwargs):
        self.choices = sorted(choices)
        assert all(re.fullmatch(r"-?[a-z_]+", c) for c in self.choices), "choices must be plain words"
        one = "|".join(self.choices)
        kwargs.setdefault("metadata", {})["pattern"] = f"^({one})(,({one}))*$"
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        items = text.split(",")
        bad = [item for item in items if item not in self.choices]
        if bad:
            raise ma.ValidationError(f"unknown value(s) {bad}; give a comma list (no spaces) of {self.choices}")
        return items


class StrictQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class FormatQuerySchema(StrictQuerySchema):
    # Deprecated rather than removed, so links already made keep working: a generated client
    # reads this operation's 200 as JSON whatever `format` asked for, so CSV has URLs of its own.
    format = fields.String(
        validate=validate.OneOf(["json", "csv"]),
        metadata={
            "description": "json (default) or csv; the Accept header works too. Deprecated: for CSV, use the same path with `.csv`",
            "deprecated": True,
        },
    )


# What a list's CSV ignores (it is every matching row, not a page, with nothing embedded):
# its own operation (/v1/<collection>.csv) does not take them.
NOT_CSV = ("format", "limit", "cursor", "include")


def cursor_param():
    # What encode_cursor writes: unpadded base64url.
    return fields.String(
        validate=[validate.Length(1, 2000), validate.Regexp(CURSOR, error="not a cursor this API issued (bad encoding)")],
        metadata={"description": "The opaque cursor from links.next (or the Link header)"},
    )


def with_examples(fields_by_name, examples):
    """Give these fields examples (fields made for this one schema, so no other is touched)."""
    for name, example in (examples or {}).items():
        if name in fields_by_name:
            fields_by_name[name].metadata = {**fields_by_name[name].metadata, "example": example}
    return fields_by_name


def list_query_schema(name, sort_fields, includes, filters, examples=None):
    """The query schema of one collection: paging, sort, search, include, its filters;
    `examples` gives example values to paging, sort, search and include."""
    sort_choices = sorted(sort_fields) + [f"-{f}" for f in sorted(sort_fields)]
    base = {
        "limit": AsciiInteger(load_default=50, validate=validate.Range(1, 500), metadata={"description": "Rows per page, 1 to 500"}),
        "cursor": cursor_param(),
        "sort": CommaList(sort_choices, metadata={"description": f"Comma list of {', '.join(sorted(sort_fields))}; '-' for descending"}),
        "q": fields.String(validate=validate.Length(1, 200), metadata={"description": "Search names, printed values and quotes"}),
        "include": CommaList(set(includes), metadata={"description": f"Embed related records in `included`: {', '.join(includes)}"}),
        "changed_since": fields.String(
            validate=validate.Length(1, 100),
            metadata={"description": "Only records added or changed after this dataset version (from /v1/versions)"},
        ),
    }
    return type(name, (FormatQuerySchema,), {**with_examples(base, examples), **filters})


def csv_query_schema(name, list_schema):
    """The query schema of a list's CSV: the list's, less what CSV ignores (NOT_CSV)."""
    fields_by_name = {key: copy.deepcopy(field) for key, field in list_schema._declared_fields.items() if key not in NOT_CSV}
    return type(name, (StrictQuerySchema,), fields_by_name)


class SearchQuerySchema(StrictQuerySchema):
    q = fields.String(
        required=True,
        validate=validate.Length(1, 200),
        metadata={"description": "Korean or English; 2 or more characters match inside words", "example": "김장"},
    )
    type = CommaList(set(TYPES), metadata={"description": "Only these record types (comma list)", "example": "event"})
    limit = AsciiInteger(load_default=50, validate=validate.Range(1, 500))
    cursor = cursor_param()


def slug_param(**kwargs):
    return fields.String(validate=validate.Regexp(SLUG, error="must be a record id (a slug)"), **kwargs)


class FormQuerySchema(StrictQuerySchema):
    """The query an HTML form sends with GET. A browser sends every field, the blank ones too,
    and a blank field means "any": it is dropped before validation, and the spec says each
    parameter may be blank (see `blank_means_any`)."""

    @ma.pre_load
    def drop_blanks(self, data, **kwargs):
        return {key: value for key, value in data.items() if not (value == "" and key in self.fields)}


def blank_means_any(self, field, ret=None, **kwargs):
    """apispec attribute function, run after all others: a parameter of a FormQuerySchema is
    either blank or what it would be without the form. It rewrites the property in place,
    since an attribute function can only add keys, and this one must move them under anyOf."""
    if ret is None or not isinstance(field.parent, FormQuerySchema):
        return {}
    given = {key: ret.pop(key) for key in list(ret) if key != "description"}
    ret["anyOf"] = [{"type": "string", "maxLength": 0}, given]
    return {}
