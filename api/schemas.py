"""marshmallow schemas: `<Thing>Schema` for what the API returns, `<Thing>QuerySchema` for
the query parameters it takes. flask-smorest turns both into `openapi.yaml`."""

import re
from decimal import Decimal, InvalidOperation

import marshmallow as ma
from marshmallow import fields, validate

from api.models import RECORD_TYPES
from api.records import number

TYPES = sorted(RECORD_TYPES.values())
QUALIFIERS = ["exact", "approximate", "at_least", "at_most"]
SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
CURSOR = r"^[A-Za-z0-9_-]+$"


# --- fields -------------------------------------------------------------------------


class ExactNumber(fields.Number):
    """A Decimal out as a JSON number: an integer when whole, never a string."""

    num_type = Decimal

    def _serialize(self, value, attr, obj, **kwargs):
        return number(value)


class DateText(fields.String):
    """An ISO 8601 date, already formatted."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {})["format"] = "date"
        super().__init__(**kwargs)


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


# --- what the API returns ---------------------------------------------------------


class NameSchema(ma.Schema):
    ko = fields.String(required=True)
    en = fields.String(required=True)
    en_translated = fields.Boolean(required=True, metadata={"description": "True when the English is our translation, not an official name"})


class TextSchema(ma.Schema):
    ko = fields.String(required=True)
    en = fields.String(required=True)
    en_translated = fields.Boolean()


class CitationSchema(ma.Schema):
    source = fields.String(required=True, metadata={"description": "The id of the source article"})
    evidence = fields.String(required=True, metadata={"description": "A verbatim quote from the article"})


class RefSchema(ma.Schema):
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    id = fields.String(required=True)


class RoleRefSchema(RefSchema):
    role = fields.String(required=True)


class MemberRefSchema(RefSchema):
    title = fields.Nested(TextSchema, allow_none=True, required=True)


def refs(schema=RefSchema, **kwargs):
    return fields.List(fields.Nested(schema), required=True, **kwargs)


def ref_or_null(**kwargs):
    return fields.Nested(RefSchema, allow_none=True, required=True, **kwargs)


class RecordSchema(ma.Schema):
    id = fields.String(required=True, metadata={"description": "A stable, readable slug"})
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    name = fields.Nested(NameSchema, required=True)
    other_names = fields.List(fields.String(), required=True, metadata={"description": "Other names, misprints as printed among them"})
    note = fields.String(allow_none=True, required=True, metadata={"description": "What the curators know beyond the page"})
    sources = fields.List(fields.Nested(CitationSchema), required=True)


class PeriodSchema(ma.Schema):
    start = DateText(allow_none=True, required=True)
    end = DateText(allow_none=True, required=True)


class ComparisonSchema(ma.Schema):
    kind = fields.String(required=True, metadata={"example": "growth_rate"})
    base = fields.Nested(RefSchema, required=True)
    current = fields.Nested(RefSchema, required=True)


class CheckSchema(ma.Schema):
    kind = fields.String(required=True, metadata={"description": "parts_sum or growth_rate"})
    holds = fields.Boolean(required=True)
    detail = fields.String(required=True)


class FigureSchema(RecordSchema):
    value = ExactNumber(allow_none=True, required=True, metadata={"description": "The number meant, exact"})
    unit = fields.String(allow_none=True, required=True, metadata={"description": "A code from /v1/units"})
    value_text = fields.String(required=True, metadata={"description": "The number exactly as printed"})
    qualifier = fields.String(required=True, validate=validate.OneOf(QUALIFIERS))
    period = fields.Nested(PeriodSchema, allow_none=True, required=True)
    as_of = DateText(allow_none=True, required=True)
    subjects = refs()
    parts = refs(metadata={"description": "Figures that add up to this one"})
    part_of = refs(metadata={"description": "Figures this one is a part of"})
    comparisons = fields.List(fields.Nested(ComparisonSchema), required=True)
    checks = fields.List(fields.Nested(CheckSchema), required=True)
    discrepancy = fields.String(allow_none=True, required=True)


class EventSchema(RecordSchema):
    kind = fields.String(required=True)
    start_date = DateText(allow_none=True, required=True)
    end_date = DateText(allow_none=True, required=True)
    place = ref_or_null()
    participants = refs(RoleRefSchema)
    programmes = refs()
    figures = refs()


class ProgrammeSchema(RecordSchema):
    kind = fields.String(required=True)
    parent = ref_or_null()
    parts = refs()
    operators = refs(RoleRefSchema)
    places = refs()
    eligibility = fields.Nested(TextSchema, allow_none=True, required=True)
    benefits = fields.List(fields.Nested(TextSchema), required=True)
    start_date = DateText(allow_none=True, required=True)
    end_date = DateText(allow_none=True, required=True)
    events = refs()
    figures = refs()


class OrganisationSchema(RecordSchema):
    kind = fields.String(required=True)
    parent = ref_or_null()
    children = refs()
    members = refs(MemberRefSchema)
    figures = refs()


class AffiliationSchema(ma.Schema):
    organisation = fields.Nested(RefSchema, required=True)
    title = fields.Nested(TextSchema, allow_none=True, required=True)


class PersonSchema(RecordSchema):
    affiliations = fields.List(fields.Nested(AffiliationSchema), required=True)
    events = refs(RoleRefSchema)


class PlaceSchema(RecordSchema):
    kind = fields.String(required=True)
    parent = ref_or_null()
    children = refs()
    events = refs()
    programmes = refs()
    figures = refs()


class SourceSchema(RecordSchema):
    headline = fields.String(required=True)
    subheadlines = fields.List(fields.String(), required=True)
    publication = fields.Nested(RefSchema, required=True)
    byline = fields.String(allow_none=True, required=True)
    author = ref_or_null()
    published_on = DateText(allow_none=True, required=True)
    page_position = fields.Integer(required=True)
    records = refs(metadata={"description": "The records this article is cited for"})


class LinksSchema(ma.Schema):
    self = fields.String(required=True)
    next = fields.String(allow_none=True, required=True)


class SelfLinkSchema(ma.Schema):
    self = fields.String(required=True)


class MetaSchema(ma.Schema):
    total = fields.Integer(required=True, metadata={"description": "Rows matching the filter, on every page"})
    limit = fields.Integer(required=True)
    dataset_version = fields.String(required=True)


INCLUDED = fields.List(
    fields.Dict(),
    metadata={"description": "Related records asked for with ?include=, each shaped as in its own collection"},
)


def list_schema(record_schema, name):
    return ma.Schema.from_dict(
        {
            "data": fields.List(fields.Nested(record_schema), required=True),
            "links": fields.Nested(LinksSchema, required=True),
            "meta": fields.Nested(MetaSchema, required=True),
            "included": INCLUDED,
        },
        name=name,
    )


def one_schema(record_schema, name):
    return ma.Schema.from_dict(
        {
            "data": fields.Nested(record_schema, required=True),
            "links": fields.Nested(SelfLinkSchema, required=True),
            "included": INCLUDED,
        },
        name=name,
    )


# --- what the API takes -----------------------------------------------------------


class StrictQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class FormatQuerySchema(StrictQuerySchema):
    format = fields.String(validate=validate.OneOf(["json", "csv"]), metadata={"description": "json (default) or csv; the Accept header works too"})


def cursor_param():
    # What encode_cursor writes: unpadded base64url.
    return fields.String(
        validate=[validate.Length(1, 2000), validate.Regexp(CURSOR, error="not a cursor this API issued (bad encoding)")],
        metadata={"description": "The opaque cursor from links.next (or the Link header)"},
    )


def list_query_schema(name, sort_fields, includes, filters):
    """The query schema of one collection: paging, sort, search, include, its filters."""
    sort_choices = sorted(sort_fields) + [f"-{f}" for f in sorted(sort_fields)]
    base = {
        "limit": AsciiInteger(load_default=50, validate=validate.Range(1, 500), metadata={"description": "Rows per page, 1 to 500"}),
        "cursor": cursor_param(),
        "sort": CommaList(sort_choices, metadata={"description": f"Comma list of {', '.join(sorted(sort_fields))}; '-' for descending"}),
        "q": fields.String(validate=validate.Length(1, 200), metadata={"description": "Search names, printed values and quotes"}),
        "include": CommaList(set(includes), metadata={"description": f"Embed related records in `included`: {', '.join(includes)}"}),
    }
    return type(name, (FormatQuerySchema,), {**base, **filters})


class SearchQuerySchema(StrictQuerySchema):
    q = fields.String(
        required=True, validate=validate.Length(1, 200), metadata={"description": "Korean or English; 2 or more characters match inside words"}
    )
    type = CommaList(set(TYPES), metadata={"description": "Only these record types (comma list)"})
    limit = AsciiInteger(load_default=50, validate=validate.Range(1, 500))
    cursor = cursor_param()


class SearchHitSchema(ma.Schema):
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    id = fields.String(required=True)
    name = fields.Nested(NameSchema, required=True)
    matched = fields.Dict(required=True, metadata={"description": "{field, text}: where the query matched"})
    score = fields.Integer(required=True)
    href = fields.String(required=True)


class MatchSchema(ma.Schema):
    field = fields.String(required=True)
    text = fields.String(required=True)


SearchHitSchema._declared_fields["matched"] = fields.Nested(MatchSchema, required=True)


class SearchListSchema(ma.Schema):
    data = fields.List(fields.Nested(SearchHitSchema), required=True)
    links = fields.Nested(LinksSchema, required=True)
    meta = fields.Nested(MetaSchema, required=True)


class UnitSchema(ma.Schema):
    code = fields.String(required=True)
    label = fields.Nested(TextSchema, required=True)
    note = fields.String(allow_none=True, required=True)
    figures = fields.Integer(required=True, metadata={"description": "How many figures use this unit"})


class UnitListSchema(ma.Schema):
    data = fields.List(fields.Nested(UnitSchema), required=True)
    links = fields.Nested(LinksSchema, required=True)
    meta = fields.Nested(MetaSchema, required=True)


class CollectionLinkSchema(ma.Schema):
    href = fields.String(required=True)
    count = fields.Integer(required=True)


class DatasetSchema(ma.Schema):
    version = fields.String(required=True)
    loaded_at = fields.String(required=True, metadata={"format": "date-time"})


class IndexLinksSchema(ma.Schema):
    units = fields.String(required=True, metadata={"description": "The unit vocabulary"})
    search = fields.String(required=True, metadata={"description": "Search across every collection"})
    openapi = fields.String(required=True, metadata={"description": "This contract, as JSON"})
    docs = fields.String(required=True, metadata={"description": "Interactive documentation"})
    explorer = fields.String(required=True, metadata={"description": "The explorer: the dataset as HTML pages for people"})
    download_zip = fields.String(
        required=True, metadata={"description": "The whole dataset: a CSV file per table in a zip, with a Frictionless datapackage.json"}
    )
    download_sqlite = fields.String(required=True, metadata={"description": "The whole dataset as a SQLite database"})


class IndexDataSchema(ma.Schema):
    collections = fields.Dict(keys=fields.String(), values=fields.Nested(CollectionLinkSchema), required=True)
    dataset = fields.Nested(DatasetSchema, required=True)
    links = fields.Nested(IndexLinksSchema, required=True)


class IndexSchema(ma.Schema):
    data = fields.Nested(IndexDataSchema, required=True)
    links = fields.Nested(SelfLinkSchema, required=True)


def slug_param(**kwargs):
    return fields.String(validate=validate.Regexp(SLUG, error="must be a record id (a slug)"), **kwargs)
