"""/v1/places: countries, cities, districts, industrial complexes and venues."""

from marshmallow import fields

from api.registry import BY_NAME
from api.store import models as m
from api.web.params import slug_param
from api.web.resources.collection import Collection


def apply(query, args):
    if "kind" in args:
        query = query.where(m.Place.kind == args["kind"])
    if "parent" in args:
        query = query.where(m.Place.parent == args["parent"])
    return query


collection = Collection(
    BY_NAME["places"],
    sort={"kind": "kind"},
    includes=("parent", "children", "events", "programmes", "figures"),
    examples={"record_id": "hanam-industrial-complex", "q": "산단", "sort": "kind", "include": "programmes"},
    filters={
        "kind": fields.String(metadata={"description": "A place kind", "example": "industrial_complex"}),
        "parent": slug_param(metadata={"description": "Places directly within this place id", "example": "gwangju"}),
    },
    apply=apply,
)
blp = collection.blueprint
