"""/v1/places: countries, cities, districts, industrial complexes and venues."""

from marshmallow import fields

from api import models as m
from api.resources.collection import Collection
from api.schemas import PlaceSchema, slug_param


def apply(query, args):
    if "kind" in args:
        query = query.where(m.Place.kind == args["kind"])
    if "parent" in args:
        query = query.where(m.Place.parent == args["parent"])
    return query


places = Collection(
    "places",
    PlaceSchema,
    description="Places the page names, with what lies within them and what happened or runs there.",
    sort={"kind": "kind"},
    includes=("parent", "children", "events", "programmes", "figures"),
    examples={"record_id": "hanam-industrial-complex", "q": "산단", "sort": "kind", "include": "programmes"},
    filters={
        "kind": fields.String(metadata={"description": "A place kind", "example": "industrial_complex"}),
        "parent": slug_param(metadata={"description": "Places directly within this place id", "example": "gwangju"}),
    },
    apply=apply,
)
blp = places.blueprint
