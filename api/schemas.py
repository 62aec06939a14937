"""marshmallow schemas: `<Thing>Schema` for what the API returns, `<Thing>QuerySchema` for
the query parameters it takes. flask-smorest turns both into `openapi.yaml`.

Examples (`metadata={"example": ...}`) are copied from the loaded seeds, one record per
type, so the docs show what the API really serves; tests/test_contract.py proves each one
is still served.
"""

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
    source = fields.String(required=True, metadata={"description": "The id of the source article", "example": "kimjang-festival-article"})
    evidence = fields.String(
        required=True, metadata={"description": "A verbatim quote from the article", "example": "218t(14억 7000만원 상당)의 김장김치를 판매했다"}
    )


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


def record_type(name=None):
    """`type`: one of TYPES, or, in a record type's own schema, its name alone."""
    return fields.String(required=True, validate=validate.OneOf([name] if name else TYPES))


def record_id(example=None):
    metadata = {"description": "A stable, readable slug"}
    if example:
        metadata["example"] = example
    return fields.String(required=True, metadata=metadata)


def record_name(ko, en, en_translated=True):
    """A record type's `name`, with the name of its example record as the example."""
    return fields.Nested(NameSchema, required=True, metadata={"example": {"ko": ko, "en": en, "en_translated": en_translated}})


class RecordSchema(ma.Schema):
    id = record_id()
    type = record_type()
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
    type = record_type("figure")
    id = record_id("kimjang-festival-2023-sales-amount")
    name = record_name("판매금액", "Sales amount")
    value = ExactNumber(allow_none=True, required=True, metadata={"description": "The number meant, exact", "example": 1470000000})
    unit = fields.String(allow_none=True, required=True, metadata={"description": "A code from /v1/units", "example": "KRW"})
    value_text = fields.String(required=True, metadata={"description": "The number exactly as printed", "example": "14억 7000만원"})
    qualifier = fields.String(required=True, validate=validate.OneOf(QUALIFIERS), metadata={"example": "exact"})
    period = fields.Nested(PeriodSchema, allow_none=True, required=True, metadata={"example": {"start": "2023-11-22", "end": "2023-12-10"}})
    as_of = DateText(allow_none=True, required=True, metadata={"example": None})  # a period, so no one day
    subjects = refs()
    parts = refs(metadata={"description": "Figures that add up to this one"})
    part_of = refs(metadata={"description": "Figures this one is a part of"})
    comparisons = fields.List(fields.Nested(ComparisonSchema), required=True)
    checks = fields.List(fields.Nested(CheckSchema), required=True)
    discrepancy = fields.String(allow_none=True, required=True)


class EventSchema(RecordSchema):
    type = record_type("event")
    id = record_id("kimjang-festival-2023")
    name = record_name("2023 빛고을사랑나눔김장대전", "2023 Bitgoeul Love Sharing Kimjang Festival")
    kind = fields.String(required=True, metadata={"example": "festival"})
    start_date = DateText(allow_none=True, required=True, metadata={"example": "2023-11-22"})
    end_date = DateText(allow_none=True, required=True, metadata={"example": "2023-12-10"})
    place = ref_or_null()
    participants = refs(RoleRefSchema)
    programmes = refs()
    figures = refs()


class ProgrammeSchema(RecordSchema):
    type = record_type("programme")
    id = record_id("sme-special-support-area-scheme")
    name = record_name("중소기업특별지원지역 지원제도", "Support scheme for Special Support Areas for SMEs")
    kind = fields.String(required=True, metadata={"example": "support_scheme"})
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
    type = record_type("organisation")
    id = record_id("ai-industry-cluster-agency")
    name = record_name("인공지능산업융합사업단", "Artificial Intelligence Industry Cluster Agency", en_translated=False)
    kind = fields.String(required=True, metadata={"example": "public_agency"})
    parent = ref_or_null()
    children = refs()
    members = refs(MemberRefSchema)
    figures = refs()


class AffiliationSchema(ma.Schema):
    organisation = fields.Nested(RefSchema, required=True)
    title = fields.Nested(TextSchema, allow_none=True, required=True)


class PersonSchema(RecordSchema):
    type = record_type("person")
    id = record_id("kim-jun-ha")
    name = record_name("김준하", "Kim Jun-ha")
    affiliations = fields.List(fields.Nested(AffiliationSchema), required=True)
    events = refs(RoleRefSchema)


class PlaceSchema(RecordSchema):
    type = record_type("place")
    id = record_id("hanam-industrial-complex")
    name = record_name("하남산업단지", "Hanam Industrial Complex")
    kind = fields.String(required=True, metadata={"example": "industrial_complex"})
    parent = ref_or_null()
    children = refs()
    events = refs()
    programmes = refs()
    figures = refs()


class SourceSchema(RecordSchema):
    type = record_type("source")
    id = record_id("kimjang-festival-article")
    name = record_name("광주시 ‘빛고을나눔김장대전’ 대박", "Gwangju City's 'Bitgoeul Sharing Kimjang Festival' a big hit")
    headline = fields.String(required=True, metadata={"example": "광주시 ‘빛고을나눔김장대전’ 대박"})
    subheadlines = fields.List(fields.String(), required=True)
    publication = fields.Nested(RefSchema, required=True)
    byline = fields.String(allow_none=True, required=True)
    author = ref_or_null()
    published_on = DateText(allow_none=True, required=True, metadata={"example": "2023-12-18"})
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
    }
    return type(name, (FormatQuerySchema,), {**with_examples(base, examples), **filters})


class SearchQuerySchema(StrictQuerySchema):
    q = fields.String(
        required=True, validate=validate.Length(1, 200),
        metadata={"description": "Korean or English; 2 or more characters match inside words", "example": "김장"},
    )
    type = CommaList(set(TYPES), metadata={"description": "Only these record types (comma list)", "example": "event"})
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
    field = fields.String(required=True, metadata={"example": "name.ko"})
    text = fields.String(required=True, metadata={"example": "2023 빛고을사랑나눔김장대전"})


SearchHitSchema._declared_fields["matched"] = fields.Nested(MatchSchema, required=True)


class SearchListSchema(ma.Schema):
    data = fields.List(fields.Nested(SearchHitSchema), required=True)
    links = fields.Nested(LinksSchema, required=True)
    meta = fields.Nested(MetaSchema, required=True)


class UnitSchema(ma.Schema):
    code = fields.String(required=True, metadata={"example": "KRW"})
    label = fields.Nested(TextSchema, required=True, metadata={"example": {"ko": "원", "en": "Korean won", "en_translated": True}})
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


class IndexDataSchema(ma.Schema):
    collections = fields.Dict(keys=fields.String(), values=fields.Nested(CollectionLinkSchema), required=True)
    dataset = fields.Nested(DatasetSchema, required=True)
    links = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class IndexSchema(ma.Schema):
    data = fields.Nested(IndexDataSchema, required=True)
    links = fields.Nested(SelfLinkSchema, required=True)


def slug_param(**kwargs):
    return fields.String(validate=validate.Regexp(SLUG, error="must be a record id (a slug)"), **kwargs)
