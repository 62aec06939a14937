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
    filters={
        "kind": fields.String(metadata={"description": "An organisation kind, e.g. local_government"}),
        "parent": slug_param(metadata={"description": "Organisations directly under this organisation id"}),
    },
    apply=apply,
)
blp = organisations.blueprint
