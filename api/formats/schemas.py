"""What a record is, as the API shows it: one marshmallow schema per record type.

They describe every representation of a record: the JSON document, the CSV columns
(api/formats/csv_export.py spreads them), the data package's column types, and, through
flask-smorest, openapi.yaml. Examples (`metadata={"example": ...}`) are copied from the
loaded seeds, one record per type, so the docs show what the API really serves;
tests/test_contract.py proves each one is still served.
"""

from decimal import Decimal

import marshmallow as ma
from marshmallow import fields, validate

from api.query.records import number
from api.store.models import RECORD_TYPES

TYPES = sorted(RECORD_TYPES.values())
QUALIFIERS = ["exact", "approximate", "at_least", "at_most"]


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


class NameSchema(ma.Schema):
    ko = fields.String(required=True)
    en = fields.String(required=True)
    en_translated = fields.Boolean(required=True, metadata={"description": "True when the English is our translation, not an official name"})


class TextSchema(ma.Schema):
    ko = fields.String(required=True)
    en = fields.String(required=True)
    en_translated = fields.Boolean()


class ContextSchema(ma.Schema):
    text = fields.String(required=True, metadata={"description": "The sentence the quote stands in, as printed; '…' marks where a long one was cut"})
    start = fields.Integer(required=True, metadata={"description": "Where the quote starts in `text` (a code point offset)"})
    end = fields.Integer(required=True, metadata={"description": "Where the quote ends in `text` (exclusive)"})


class LinesSchema(ma.Schema):
    first = fields.Integer(required=True)
    last = fields.Integer(required=True)


class PageSchema(ma.Schema):
    file = fields.String(required=True, metadata={"description": "The page file's name"})
    sha256 = fields.String(required=True, metadata={"description": "The SHA-256 of the file, in hex"})
    lines = fields.Nested(
        LinesSchema, required=True, allow_none=True, metadata={"description": "The article's lines in the file, 1 first; null: the whole file"}
    )


class CitationSchema(ma.Schema):
    source = fields.String(required=True, metadata={"description": "The id of the source article", "example": "kimjang-festival-article"})
    evidence = fields.String(
        required=True, metadata={"description": "A verbatim quote from the article", "example": "218t(14억 7000만원 상당)의 김장김치를 판매했다"}
    )
    start = fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "Where the quote starts in the source's page file (`page.file` of the source): a code point offset "
            "into the file read as UTF-8, white space as printed; null only in a database loaded before spans were kept"
        },
    )
    end = fields.Integer(required=True, allow_none=True, metadata={"description": "Where the quote ends in the page file (exclusive)"})
    context = fields.Nested(
        ContextSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The quote in its sentence (at most about 300 characters): the sentence, and the quote's place in it"},
    )


class RefSchema(ma.Schema):
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    id = fields.String(required=True)


class RoleRefSchema(RefSchema):
    role = fields.String(required=True)


class MemberRefSchema(RefSchema):
    title = fields.Nested(TextSchema, allow_none=True, required=True)


class BenefitSchema(TextSchema):
    programmes = fields.List(fields.Nested(RefSchema), required=True, metadata={"description": "Schemes the benefit is given through"})


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
    dated_from = ref_or_null(metadata={"description": "The announcement (an event) the figure's relative dates are counted from"})
    value_in_words = fields.Boolean(
        required=True,
        metadata={"description": "True when the page states the value in words, not digits (value_text holds the words; a rank of 1)"},
    )


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
    dated_from = ref_or_null(metadata={"description": "The announcement (an event of kind announcement) the event's relative dates are counted from"})


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
    benefits = fields.List(fields.Nested(BenefitSchema), required=True)
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
    page = fields.Nested(
        PageSchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "The archived text of the page the article is on (seeds/pages/ in the repository): not served, "
            "but whoever holds it can check every citation's span against it (null only in data made without seeds, as the "
            "benchmark's)",
            "example": {
                "file": "000_f27f502ecff37551.txt",
                "sha256": "211514e4e753ad4110f58d81451505ec504fbe6faeccf6b4211ee007305f078d",
                "lines": {"first": 49, "last": 65},
            },
        },
    )
