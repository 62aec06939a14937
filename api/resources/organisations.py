"""/v1/organisations: city, agencies, companies, universities, with parents and members."""

from marshmallow import fields

from api import models as m
from api.resources.collection import Collection
from api.schemas import OrganisationSchema, slug_param


def apply(query, args):
    if "kind" in args:
        query = query.where(m.Organisation.kind == args["kind"])
    if "parent" in args:
        query = query.where(m.Organisation.parent == args["parent"])
    return query


organisations = Collection(
    "organisations",
    OrganisationSchema,
    description="Organisations the page names, with kind, parent, other (and misprinted) names and members.",
    sort={"kind": "kind"},
    includes=("parent", "children", "members", "figures"),
    examples={"record_id": "ai-industry-cluster-agency", "q": "대학교", "sort": "kind,-name_en", "include": "members"},
    filters={
        "kind": fields.String(metadata={"description": "An organisation kind", "example": "university"}),
        "parent": slug_param(metadata={"description": "Organisations directly under this organisation id", "example": "gwangju-metropolitan-city"}),
    },
    apply=apply,
)
blp = organisations.blueprint
