"""/v1/organisations: city, agencies, companies, universities, with parents and members."""

from marshmallow import fields

from api.registry import BY_NAME
from api.store import models as m
from api.web.params import slug_param
from api.web.resources.collection import Collection


def apply(query, args):
    if "kind" in args:
        query = query.where(m.Organisation.kind == args["kind"])
    if "parent" in args:
        query = query.where(m.Organisation.parent == args["parent"])
    return query


collection = Collection(
    BY_NAME["organisations"],
    sort={"kind": "kind"},
    includes=("parent", "children", "members", "figures"),
    examples={"record_id": "ai-industry-cluster-agency", "q": "대학교", "sort": "kind,-name_en", "include": "members"},
    filters={
        "kind": fields.String(metadata={"description": "An organisation kind", "example": "university"}),
        "parent": slug_param(metadata={"description": "Organisations directly under this organisation id", "example": "gwangju-metropolitan-city"}),
    },
    apply=apply,
)
blp = collection.blueprint
