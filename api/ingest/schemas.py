"""marshmallow schemas for the seed files: the shape each record must have.

They check one record at a time (types, required fields, formats); what needs the whole
dataset (references, vocabularies, evidence, arithmetic) is in `api.ingest.read`.
"""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.ingest.pages import PAGE_FILE

SLUG = validate.Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$", error="must be a slug like 'gwangju-city'")
QUALIFIERS = ("exact", "approximate", "at_least", "at_most")
# How a record's Korean name relates to the page (seeds/README.md, "Names"): printed as it
# stands, or not, and then why. The loader checks that a printed name is on the page and that
# a name said not to be printed is not.
KO_FORMS = ("printed", "corrected", "official", "composed", "unprinted")


def slug(**kwargs):
    return fields.String(validate=SLUG, **kwargs)


def optional(field):
    field.allow_none = True
    field.load_default = None
    return field


class TextSchema(Schema):
    """A text in both languages; the English is ours unless said otherwise."""

    ko = fields.String(required=True, validate=validate.Length(min=1))
    en = fields.String(required=True, validate=validate.Length(min=1))
    en_translated = fields.Boolean(load_default=True)


class NameSchema(TextSchema):
    # A record's English name must say whether it is official or ours.
    en_translated = fields.Boolean(required=True)
    ko_form = fields.String(load_default="printed", validate=validate.OneOf(KO_FORMS))


class CitationSchema(Schema):
    source = slug(required=True)
    evidence = fields.String(required=True, validate=validate.Length(min=1))


class RecordSchema(Schema):
    id = slug(required=True)
    name = fields.Nested(NameSchema, required=True)
    other_names = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)
    note = optional(fields.String())
    sources = fields.List(fields.Nested(CitationSchema), required=True, validate=validate.Length(min=1))


class LinesSchema(Schema):
    first = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    last = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))

    @validates_schema
    def ordered(self, data, **kwargs):
        if data["last"] < data["first"]:
            raise ValidationError(f"last {data['last']} is before first {data['first']}", "last")


class PageSchema(Schema):
    """The archived text a source is: a file in seeds/pages/, its SHA-256, and the lines of
    it that are this article (null when the whole file is)."""

    file = fields.String(required=True, validate=validate.Regexp(PAGE_FILE, error="must be a file name in pages/ ending in .txt"))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$", error="must be 64 lower-case hex digits"))
    lines = optional(fields.Nested(LinesSchema))


class SourceSeedSchema(RecordSchema):
    page = fields.Nested(PageSchema, required=True)
    subheadlines = fields.List(fields.String(), load_default=list)
    publication = slug(required=True)
    byline = optional(fields.String())
    author = optional(slug())
    published_on = optional(fields.Date())
    page_position = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class OrganisationSeedSchema(RecordSchema):
    kind = fields.String(required=True)
    parent = optional(slug())


class AffiliationSeedSchema(Schema):
    organisation = slug(required=True)
    title = optional(fields.Nested(TextSchema))


class PersonSeedSchema(RecordSchema):
    affiliations = fields.List(fields.Nested(AffiliationSeedSchema), load_default=list)


class PlaceSeedSchema(OrganisationSeedSchema):
    pass


class ParticipantSeedSchema(Schema):
    organisation = optional(slug())
    person = optional(slug())
    role = fields.String(required=True)

    @validates_schema
    def one_party(self, data, **kwargs):
        if (data.get("organisation") is None) == (data.get("person") is None):
            raise ValidationError("name exactly one of organisation or person", "organisation")


def check_dates(data, start, end):
    if data.get(start) and data.get(end) and data[start] > data[end]:
        raise ValidationError(f"{end} {data[end]} is before {start} {data[start]}", end)


class EventSeedSchema(RecordSchema):
    kind = fields.String(required=True)
    start_date = optional(fields.Date())
    end_date = optional(fields.Date())
    place = optional(slug())
    participants = fields.List(fields.Nested(ParticipantSeedSchema), load_default=list)
    programmes = fields.List(slug(), load_default=list)
    dated_from = optional(slug())  # the announcement its relative dates are resolved against

    @validates_schema
    def ordered_dates(self, data, **kwargs):
        check_dates(data, "start_date", "end_date")


class OperatorSeedSchema(Schema):
    organisation = slug(required=True)
    role = fields.String(required=True)


class BenefitSchema(TextSchema):
    programmes = fields.List(slug(), load_default=list)  # schemes the benefit is given through


class ProgrammeSeedSchema(RecordSchema):
    kind = fields.String(required=True)
    parent = optional(slug())
    operators = fields.List(fields.Nested(OperatorSeedSchema), load_default=list)
    places = fields.List(slug(), load_default=list)
    eligibility = optional(fields.Nested(TextSchema))
    benefits = fields.List(fields.Nested(BenefitSchema), load_default=list)
    start_date = optional(fields.Date())
    end_date = optional(fields.Date())

    @validates_schema
    def ordered_dates(self, data, **kwargs):
        check_dates(data, "start_date", "end_date")


class PeriodSchema(Schema):
    start = optional(fields.Date())
    end = optional(fields.Date())

    @validates_schema
    def ordered_dates(self, data, **kwargs):
        check_dates(data, "start", "end")


class ComparisonSeedSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["growth_rate"]))
    base = slug(required=True)
    current = slug(required=True)


class FigureSeedSchema(RecordSchema):
    value = optional(fields.Decimal(allow_nan=False))  # allow_nan=False rejects infinity too
    unit = optional(fields.String())
    value_text = fields.String(required=True, validate=validate.Length(min=1))
    qualifier = fields.String(required=True, validate=validate.OneOf(QUALIFIERS))
    period = optional(fields.Nested(PeriodSchema))
    as_of = optional(fields.Date())
    subjects = fields.List(slug(), load_default=list)
    parts = fields.List(slug(), load_default=list)
    comparisons = fields.List(fields.Nested(ComparisonSeedSchema), load_default=list)
    discrepancy = optional(fields.String())
    dated_from = optional(slug())
    # The page states the value in words, not digits ('특·광역시 중 가장 많으며': first):
    # value_text holds the words, and arithmetic.check_value_text reads them as a rank.
    value_in_words = fields.Boolean()  # absent: false

    @validates_schema
    def a_label_is_not_printed(self, data, **kwargs):
        if data["name"]["ko_form"] != "printed":
            raise ValidationError("a figure's name is a label: its print is value_text, so ko_form does not apply", "name")


class AcknowledgementSchema(Schema):
    """A number-like token on the page that no record accounts for, and why that is right."""

    token = fields.String(required=True, validate=validate.Length(min=1))
    evidence = fields.String(required=True, validate=validate.Length(min=1))  # where it stands
    reason = fields.String(required=True, validate=validate.Length(min=1))


class ExtraCitationSchema(CitationSchema):
    record = slug(required=True)


class UnitSeedSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_]+$"))
    ko = fields.String(required=True)
    en = fields.String(required=True)
    note = optional(fields.String())


class TermSeedSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]+$"))
    ko = fields.String(required=True)
    en = fields.String(required=True)


# The sections of an article file, in load order, with the schema of one entry.
RECORD_SECTIONS = {
    "organisations": OrganisationSeedSchema,
    "people": PersonSeedSchema,
    "places": PlaceSeedSchema,
    "programmes": ProgrammeSeedSchema,
    "events": EventSeedSchema,
    "figures": FigureSeedSchema,
}
VOCABULARY_SCHEMES = (
    "organisation_kind",
    "place_kind",
    "event_kind",
    "programme_kind",
    "participant_role",
    "operator_role",
)


def flatten_messages(messages, prefix=""):
    """marshmallow's nested error dict -> [(dotted.field[0].path, message), ...]."""
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(prefix or "(record)", m) for m in messages]
    out = []
    items = messages.items() if isinstance(messages, dict) else enumerate(messages)
    for key, value in items:
        if isinstance(key, int):
            path = f"{prefix}[{key}]"
        elif key == "_schema":
            path = prefix
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
        out.extend(flatten_messages(value, path))
    return out
