"""The tables of civicfacts and their domain verbs.

Seven record types (sources, organisations, people, places, events, programmes, figures)
share one shape: a readable slug `id`, a name in Korean and English (the English marked
when it is our translation), a `note`, and citations. Links between records are tables of
their own, so that every relation the page states can be queried in both directions.
"""

import json

import orjson
from peewee import (
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    CompositeKey,
    DateField,
    DateTimeField,
    DecimalField,
    ForeignKeyField,
    IntegerField,
    TextField,
    fn,
)

from api.store.db import BaseModel


class JSONField(TextField):
    """JSON kept as text, so SQLite and PostgreSQL store it the same way."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def python_value(self, value):
        return None if value is None else orjson.loads(value)  # reading is on every request: the fast parser


class BytesField(BlobField):
    """A BLOB / bytea that goes to the driver as plain bytes: BlobField wraps a value in the
    Binary type of the database the model is bound to, which another database (the SQLite
    download built from PostgreSQL) cannot take."""

    def db_value(self, value):
        return None if value is None else bytes(value)


class Dataset(BaseModel):
    """A version of the dataset: one row per load that changed anything, kept (the last is the
    one served). `version` is the hash of the seeds it was loaded from (with `-2`, `-3`, ... when
    a load comes back to seeds an earlier version had), `format` the compiler's
    (api/ingest/compile.py FORMAT) that made its documents; `counts` the records per collection,
    and added, changed and removed how many records its load changed (its RecordChange rows)."""

    version = CharField(unique=True)
    loaded_at = DateTimeField()
    seeds_hash = CharField(null=True)
    format = IntegerField(default=0)
    counts = JSONField(null=True)
    added = IntegerField(default=0)
    changed = IntegerField(default=0)
    removed = IntegerField(default=0)


class Unit(BaseModel):
    code = CharField(primary_key=True)
    label_ko = TextField()
    label_en = TextField()
    note = TextField(null=True)
    position = IntegerField(default=0)


class Term(BaseModel):
    """A controlled vocabulary entry: kinds of record and roles in links."""

    scheme = CharField()  # organisation_kind, event_kind, participant_role, ...
    code = CharField()
    label_ko = TextField()
    label_en = TextField()
    position = IntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("scheme", "code")


class Record(BaseModel):
    """Fields every record type has. Each record type names its collection (the plural, as in
    /v1/figures) and its type (the singular, as records carry it in `type`)."""

    collection = None
    record_type = None

    id = CharField(primary_key=True)
    name_ko = TextField(index=True)  # indexed, as every sort key is
    name_en = TextField(index=True)
    name_en_translated = BooleanField(default=False)
    other_names = JSONField(default=list)  # names as printed elsewhere, misprints included
    note = TextField(null=True)
    position = IntegerField(default=0, index=True)  # the order the seeds give
    # Each record type ends with `extra = JSONField(null=True)`: what the seeds say of a record
    # that has no column of its own, shown in its documents, never filtered or sorted on (a field
    # that gains a filter gets a column: ARCHITECTURE.md). Declared last in each, as migration
    # 0005 added it last.


class Organisation(Record):
    collection, record_type = "organisations", "organisation"

    kind = CharField(index=True)
    parent = ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")
    extra = JSONField(null=True)


class Person(Record):
    collection, record_type = "people", "person"

    extra = JSONField(null=True)


class Place(Record):
    collection, record_type = "places", "place"

    kind = CharField(index=True)
    parent = ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")
    extra = JSONField(null=True)


class Source(Record):
    """One article. `name` is its headline."""

    collection, record_type = "sources", "source"

    publication = ForeignKeyField(Organisation, backref="articles")
    subheadlines = JSONField(default=list)
    byline = TextField(null=True)  # as printed
    author = ForeignKeyField(Person, null=True, backref="articles")
    published_on = DateField(null=True, index=True)
    page_position = IntegerField()
    # `page` (the archived text it is: file, SHA-256, lines) is in extra: shown, never queried.
    extra = JSONField(null=True)


class Programme(Record):
    collection, record_type = "programmes", "programme"

    kind = CharField(index=True)
    parent = ForeignKeyField("self", null=True, backref="parts", on_delete="CASCADE")
    eligibility = JSONField(null=True)  # {"ko": ..., "en": ...}
    benefits = JSONField(default=list)  # [{"ko": ..., "en": ...}]
    start_date = DateField(null=True, index=True)
    end_date = DateField(null=True, index=True)
    extra = JSONField(null=True)


class Event(Record):
    collection, record_type = "events", "event"

    kind = CharField(index=True)
    start_date = DateField(null=True, index=True)
    end_date = DateField(null=True, index=True)
    place = ForeignKeyField(Place, null=True, backref="events")
    extra = JSONField(null=True)
    # The announcement (an event of kind announcement) its relative dates are counted from.
    dated_from = ForeignKeyField("self", null=True, backref="dated_events", on_delete="SET NULL")


# The days an event covers: from its start to its end, or its one day (the from/to filter).
EVENT_LAST_DAY = fn.COALESCE(Event.end_date, Event.start_date)
Event.add_index(Event.index(EVENT_LAST_DAY, Event.start_date, Event.position, Event.id, Event.end_date, name="event_days"))


class Figure(Record):
    collection, record_type = "figures", "figure"

    value = DecimalField(max_digits=30, decimal_places=6, auto_round=False, null=True, index=True)
    unit = ForeignKeyField(Unit, null=True, backref="figures", index=True)
    value_text = TextField()
    qualifier = CharField(index=True)
    period_start = DateField(null=True, index=True)
    period_end = DateField(null=True, index=True)
    as_of = DateField(null=True, index=True)
    discrepancy = TextField(null=True)  # a mismatch the source itself contains
    extra = JSONField(null=True)
    dated_from = ForeignKeyField(Event, null=True, backref="dated_figures", on_delete="SET NULL")

    class Meta:
        # unit= walks this in page order and stops after one page, instead of sorting every figure of the unit.
        indexes = ((("unit", "position"), False),)


# The days a figure covers: its period, or the one day it is "as of". The from/to filter
# compares these very expressions, so that the indexes below serve it: a range of last days,
# each first day read from the index (api/web/resources/figures.py), instead of every figure
# of a unit tested row by row (bench/RESULTS.md: 19 ms -> 2 ms to count a unit's month at 10^5).
# With the page keys in the index too, a page's ids are chosen without reading the table; and
# with the columns the expressions are made of, PostgreSQL counts a unit's month by an
# index-only scan (its planner asks for the columns a query names, not for the expressions:
# 21 ms -> 2 ms at 10^5).
FIGURE_FIRST_DAY = fn.COALESCE(Figure.period_start, Figure.period_end, Figure.as_of)
FIGURE_LAST_DAY = fn.COALESCE(Figure.period_end, Figure.period_start, Figure.as_of)
FIGURE_DAYS_INDEXED = (FIGURE_LAST_DAY, FIGURE_FIRST_DAY, Figure.position, Figure.id, Figure.period_start, Figure.period_end, Figure.as_of)
Figure.add_index(Figure.index(Figure.unit, *FIGURE_DAYS_INDEXED, name="figure_unit_days"))
Figure.add_index(Figure.index(*FIGURE_DAYS_INDEXED, name="figure_days"))
# The same in page order: a date range's first page walked in the order it is served, the days
# read from the index, stopping after one page, where many figures overlap (api/query/days.py).
FIGURE_ORDER_INDEXED = (Figure.position, Figure.id, FIGURE_LAST_DAY, FIGURE_FIRST_DAY, Figure.period_start, Figure.period_end, Figure.as_of)
Figure.add_index(Figure.index(Figure.unit, *FIGURE_ORDER_INDEXED, name="figure_unit_order_days"))
Figure.add_index(Figure.index(*FIGURE_ORDER_INDEXED, name="figure_order_days"))


class Citation(BaseModel):
    record_type = CharField()
    record_id = CharField()
    source = ForeignKeyField(Source, backref="citations", on_delete="CASCADE")
    evidence = TextField()
    position = IntegerField(default=0)
    # Where the quote stands in the source's page file: [span_start, span_end) in code points;
    # and the sentence it stands in (at most ~300 characters, '…' where cut), with the quote
    # at [context_start, context_end) of it. Null only in a database loaded before 0004.
    span_start = IntegerField(null=True)
    span_end = IntegerField(null=True)
    context = TextField(null=True)
    context_start = IntegerField(null=True)
    context_end = IntegerField(null=True)

    class Meta:
        indexes = ((("record_type", "record_id", "position"), False),)


class Affiliation(BaseModel):
    person = ForeignKeyField(Person, backref="affiliations", on_delete="CASCADE")
    organisation = ForeignKeyField(Organisation, backref="members", on_delete="CASCADE")
    title_ko = TextField(null=True)  # as printed: 단장, 교수, 사장, ...
    title_en = TextField(null=True)
    position = IntegerField(default=0)


class EventParticipant(BaseModel):
    """An organisation or a person taking part in an event, in a role."""

    event = ForeignKeyField(Event, backref="participants", on_delete="CASCADE")
    organisation = ForeignKeyField(Organisation, null=True, backref="participations", on_delete="CASCADE")
    person = ForeignKeyField(Person, null=True, backref="participations", on_delete="CASCADE")
    role = CharField(index=True)
    position = IntegerField(default=0)


class EventProgramme(BaseModel):
    event = ForeignKeyField(Event, backref="programme_links", on_delete="CASCADE")
    programme = ForeignKeyField(Programme, backref="event_links", on_delete="CASCADE")
    position = IntegerField(default=0)


class ProgrammeOperator(BaseModel):
    programme = ForeignKeyField(Programme, backref="operators", on_delete="CASCADE")
    organisation = ForeignKeyField(Organisation, backref="operated", on_delete="CASCADE")
    role = CharField(index=True)
    position = IntegerField(default=0)


class ProgrammePlace(BaseModel):
    programme = ForeignKeyField(Programme, backref="place_links", on_delete="CASCADE")
    place = ForeignKeyField(Place, backref="programme_links", on_delete="CASCADE")
    position = IntegerField(default=0)


class FigureSubject(BaseModel):
    """What a figure is about: any record, named by type and id."""

    figure = ForeignKeyField(Figure, backref="subject_links", on_delete="CASCADE")
    subject_type = CharField()
    subject_id = CharField(index=True)
    position = IntegerField(default=0)


class FigurePart(BaseModel):
    """`part` is one line of a breakdown whose parts add up to `whole`."""

    whole = ForeignKeyField(Figure, backref="part_links", on_delete="CASCADE")
    part = ForeignKeyField(Figure, backref="whole_links", on_delete="CASCADE")
    position = IntegerField(default=0)


class FigureComparison(BaseModel):
    """`figure` is a change stated between `base` (before) and `current` (after)."""

    figure = ForeignKeyField(Figure, backref="comparisons", on_delete="CASCADE")
    kind = CharField()  # growth_rate
    base = ForeignKeyField(Figure, backref="compared_as_base", on_delete="CASCADE")
    current = ForeignKeyField(Figure, backref="compared_as_current", on_delete="CASCADE")


class FigureCheck(BaseModel):
    """The result of a consistency check the loader ran on a figure."""

    figure = ForeignKeyField(Figure, backref="checks", on_delete="CASCADE")
    kind = CharField()  # parts_sum, growth_rate
    holds = BooleanField()
    detail = TextField()


class SearchEntry(BaseModel):
    """One searchable text of one record: a name, another name, a value as printed."""

    record_type = CharField()
    record_id = CharField()
    field = CharField()
    text = TextField()
    folded = TextField()  # lower-cased, white space squashed: what queries match against
    weight = IntegerField()  # how much a match in this field counts (api.query.search.FIELD_WEIGHTS)
    record_no = IntegerField(index=True)  # the record's number in api.query.search_index (rank order)

    class Meta:
        indexes = ((("record_type", "record_id"), False),)


class SearchToken(BaseModel):
    """A word of the searchable texts, a first word or a one-word text (api.query.search_index)."""

    kind = IntegerField()
    token = TextField()

    class Meta:
        indexes = ((("kind", "token"), True),)


class SearchTokenGram(BaseModel):
    """A 2-character piece of a SearchToken: how the words containing a query are found."""

    gram = CharField()
    token = IntegerField()  # SearchToken.id

    class Meta:
        indexes = ((("gram", "token"), False),)


class SearchPosting(BaseModel):
    """The records with this word in a text of this weight: sorted record numbers, 4 bytes each."""

    token = IntegerField()  # SearchToken.id; no foreign key, so a bulk load need not check each row
    weight = IntegerField()
    records = BytesField()

    class Meta:
        indexes = ((("token", "weight"), False),)


class SearchGramRank(BaseModel):
    """The ranking of a common query, kept at load (api.query.search.Kept): its first hits,
    best first, and how many records of each type it finds in all. A common query is a
    2-character piece (as SearchTokenGram indexes) whose words' postings are long, or a longer
    word of the vocabulary whose own postings are (api.ingest.index.common_queries)."""

    gram = CharField(unique=True)  # the query, folded
    records = BytesField()  # record numbers, 4 bytes each (api.query.search_index.NUMBER), best first
    scores = BytesField()  # a byte each, in the same order
    totals = TextField()  # JSON: {record type: how many records the query finds of it}


class Document(BaseModel):
    """A record as the API serves it, compiled at load (api/ingest/compile.py): the JSON under
    `data`, its JSON-LD (links under a placeholder for the API's root, set per request), its CSV
    line, and a hash of the JSON, which changes exactly when the record's JSON does; and a hash
    of what the seeds say of the record (`seed_hash`), by which a load finds what it changes."""

    record_type = CharField()
    record_id = CharField()
    record_no = IntegerField(index=True)  # the record's number in the word index (api/query/search_index.py)
    body = BytesField()
    jsonld = BytesField()
    csv = BytesField()  # one line, UTF-8, ending in CRLF
    hash = CharField()
    seed_hash = CharField(null=True)

    class Meta:
        primary_key = CompositeKey("record_type", "record_id")


class ListCount(BaseModel):
    """An exact total counted at load: a whole collection's (filter and value empty), or the
    rows of a collection that one single-column filter with this value selects."""

    collection = CharField()
    filter = CharField()
    value = TextField()
    total = IntegerField()
    # A whole collection's row: the bytes of its records' CSV lines, which its full export
    # sends after the header. Summing them at request time read every document of the
    # collection (5 s at 10^6 figures) before the first byte. Null on filtered rows.
    csv_bytes = BigIntegerField(null=True)

    class Meta:
        primary_key = CompositeKey("collection", "filter", "value")


class DayCount(BaseModel):
    """Running totals by day, kept at load, of the records of a collection (filter and value
    empty) or of one filter's value (a figure's unit): how many start on or before `day`, and
    how many end on or before it. Two of them give how many overlap a date range
    (api/query/days.py)."""

    collection = CharField()
    filter = CharField()
    value = TextField()
    day = DateField()
    first_upto = IntegerField()
    last_upto = IntegerField()

    class Meta:
        primary_key = CompositeKey("collection", "filter", "value", "day")


class Download(BaseModel):
    """A file built by the load of `dataset` and kept in the database, so that every app server
    serves the same bytes: a download of the whole dataset (kind zip or sqlite) or a
    collection's full CSV export (csv:<collection>); its size, its hash, and its chunks."""

    kind = CharField(primary_key=True)
    size = BigIntegerField()
    sha256 = CharField()
    dataset = IntegerField(null=True)  # Dataset.id: the file is served only while that one is current


class RecordChange(BaseModel):
    """What the load of a dataset version changed of one record: added (`detail` is the record
    as added), changed (the fields that changed, each with its old and new value) or removed
    (the record as it was). Kept for every version: the change feed and each record's history."""

    dataset = ForeignKeyField(Dataset, backref="changes", on_delete="CASCADE")
    record_type = CharField()
    record_id = CharField()
    kind = CharField()  # added, changed, removed
    detail = BytesField()  # JSON

    class Meta:
        indexes = ((("record_type", "record_id", "dataset"), False), (("kind", "dataset"), False))


class DownloadChunk(BaseModel):
    kind = CharField()
    number = IntegerField()
    data = BytesField()

    class Meta:
        primary_key = CompositeKey("kind", "number")


# The record types in the order the API lists them; everything else derives from their names.
RECORD_MODELS = {model.collection: model for model in (Source, Organisation, Person, Place, Event, Programme, Figure)}
# Singular type names, as records carry them in `type`.
RECORD_TYPES = {name: model.record_type for name, model in RECORD_MODELS.items()}
TYPE_COLLECTIONS = {singular: plural for plural, singular in RECORD_TYPES.items()}

LINK_MODELS = [
    Citation,
    Affiliation,
    EventParticipant,
    EventProgramme,
    ProgrammeOperator,
    ProgrammePlace,
    FigureSubject,
    FigurePart,
    FigureComparison,
    FigureCheck,
]

# Derived from the records at load time, for search only.
SEARCH_MODELS = [SearchEntry, SearchToken, SearchTokenGram, SearchPosting, SearchGramRank]
# Derived from the records at load time: what the API serves.
COMPILED_MODELS = [Document, ListCount, DayCount, Download, DownloadChunk]
# Kept from load to load: the versions and what each changed.
HISTORY_MODELS = [RecordChange]

# In dependency order: what a table refers to comes before it.
ALL_MODELS = [
    Dataset,
    Unit,
    Term,
    Person,
    Organisation,
    Place,
    Source,
    Programme,
    Event,
    Figure,
    *LINK_MODELS,
    *SEARCH_MODELS,
    *COMPILED_MODELS,
    *HISTORY_MODELS,
]
# What the downloads hold: the records, their links and the vocabularies (and the dataset row),
# not what is derived from them for the API's own use.
PUBLISHED_MODELS = [model for model in ALL_MODELS if model not in SEARCH_MODELS + COMPILED_MODELS + HISTORY_MODELS]
