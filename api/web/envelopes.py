"""The envelopes responses come in: a list's data, links and meta; one record's data and
links; the index, the unit vocabulary and search hits."""

import marshmallow as ma
from marshmallow import fields, validate

from api.formats.schemas import TYPES, NameSchema, TextSchema


class LinksSchema(ma.Schema):
    self = fields.String(required=True)
    next = fields.String(allow_none=True, required=True)


class SelfLinkSchema(ma.Schema):
    self = fields.String(required=True)


class MetaSchema(ma.Schema):
    total = fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "Rows matching the filter, the same on every page; null when counting them would cost more than "
            "a page does (a combination of filters matching more than 10,000 rows, or a search for a word whose index "
            "entries pass 20,000): then total_is_exact is false"
        },
    )
    total_is_exact = fields.Boolean(required=True, metadata={"description": "Whether total is the exact number of rows (false: not counted)"})
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


class MatchSchema(ma.Schema):
    field = fields.String(required=True, metadata={"example": "name.ko"})
    text = fields.String(required=True, metadata={"example": "2023 빛고을사랑나눔김장대전"})


class SearchHitSchema(ma.Schema):
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    id = fields.String(required=True)
    name = fields.Nested(NameSchema, required=True)
    matched = fields.Nested(MatchSchema, required=True)
    score = fields.Integer(required=True)
    href = fields.String(required=True)


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
    versions = fields.String(required=True, metadata={"description": "Every version of the dataset, newest first"})
    changes = fields.String(required=True, metadata={"description": "What each version changed, oldest first: the change feed"})
    health = fields.String(required=True, metadata={"description": "Whether this server can answer, and how current its data is"})


class DatabaseStateSchema(ma.Schema):
    role = fields.String(
        required=True,
        validate=validate.OneOf(["primary", "replica"]),
        metadata={"description": "What this server reads: the primary (or a SQLite file), or a hot-standby replica of it"},
    )
    caught_up = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": "Whether the replica has replayed all it received (a primary always has); null: it has received nothing"},
    )
    lag_seconds = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "How far behind its primary the replica is, at most (0 when caught up); null on a primary, or unknown"},
    )
    max_lag_seconds = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "The lag past which this server answers 503 (CIVICFACTS_MAX_REPLICA_LAG); null: no bound"},
    )


class IndexDataSchema(ma.Schema):
    collections = fields.Dict(keys=fields.String(), values=fields.Nested(CollectionLinkSchema), required=True)
    dataset = fields.Nested(DatasetSchema, required=True)
    database = fields.Nested(DatabaseStateSchema, required=True, metadata={"description": "The database this server reads, and its lag"})
    links = fields.Nested(IndexLinksSchema, required=True)


class IndexSchema(ma.Schema):
    data = fields.Nested(IndexDataSchema, required=True)
    links = fields.Nested(SelfLinkSchema, required=True)


class HealthDataSchema(ma.Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ok"]))
    dataset = fields.Nested(DatasetSchema, required=True, metadata={"description": "The dataset this server reads"})
    database = fields.Nested(DatabaseStateSchema, required=True)


class HealthSchema(ma.Schema):
    data = fields.Nested(HealthDataSchema, required=True)
    links = fields.Nested(SelfLinkSchema, required=True)


# --- versions and changes ---------------------------------------------------------------------


# What the feed says after a load that corrected one figure (the examples of the docs).
EXAMPLE_CHANGE = {
    "dataset_version": "94c80e1a1d425c6a",
    "loaded_at": "2023-12-20T09:00:00Z",
    "collection": "figures",
    "type": "figure",
    "id": "kimjang-festival-2023-participants",
    "kind": "changed",
    "changes": [
        {"field": "value", "old": 12000, "new": 13000},
        {"field": "value_text", "old": "1만2000여명", "new": "1만3000여명"},
    ],
    "record": None,
    "was": None,
}


class FieldChangeSchema(ma.Schema):
    field = fields.String(required=True, metadata={"description": "A field of the record's JSON"})
    old = fields.Raw(required=True, allow_none=True, metadata={"description": "Its value before"})
    new = fields.Raw(required=True, allow_none=True, metadata={"description": "Its value after"})


class ChangeSchema(ma.Schema):
    dataset_version = fields.String(required=True, metadata={"description": "The version whose load made the change"})
    loaded_at = fields.String(required=True, metadata={"format": "date-time"})
    collection = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["added", "changed", "removed"]))
    changes = fields.List(
        fields.Nested(FieldChangeSchema),
        required=True,
        allow_none=True,
        metadata={"description": "For `changed`: every field that changed, with its old and new value (else null)"},
    )
    record = fields.Dict(
        required=True,
        allow_none=True,
        metadata={"description": "For `added`: the record as added, shaped as in its collection (else null)"},
    )
    was = fields.Dict(
        required=True,
        allow_none=True,
        metadata={"description": "For `removed`: the record as it was (else null)"},
    )


class ChangeListSchema(ma.Schema):
    data = fields.List(fields.Nested(ChangeSchema), required=True)
    links = fields.Nested(LinksSchema, required=True)
    meta = fields.Nested(MetaSchema, required=True)


class HistoryLinksSchema(ma.Schema):
    self = fields.String(required=True)
    record = fields.String(required=True, metadata={"description": "The record itself (410 Gone once it was removed)"})


class HistorySchema(ma.Schema):
    data = fields.List(fields.Nested(ChangeSchema), required=True, metadata={"description": "The record's changes, newest first"})
    links = fields.Nested(HistoryLinksSchema, required=True)


class VersionSchema(ma.Schema):
    version = fields.String(required=True)
    loaded_at = fields.String(required=True, metadata={"format": "date-time"})
    seeds_hash = fields.String(required=True, allow_none=True, metadata={"description": "The hash of the seed files it was loaded from"})
    counts = fields.Dict(
        keys=fields.String(), values=fields.Integer(), required=True, metadata={"description": "Records per collection in this version"}
    )
    added = fields.Integer(required=True)
    changed = fields.Integer(required=True)
    removed = fields.Integer(required=True)
    current = fields.Boolean(required=True, metadata={"description": "Whether this is the version the API serves"})
    changes = fields.String(required=True, metadata={"description": "The changes this version made, in the change feed"})


class VersionListSchema(ma.Schema):
    data = fields.List(fields.Nested(VersionSchema), required=True)
    links = fields.Nested(LinksSchema, required=True)
    meta = fields.Nested(MetaSchema, required=True)
