"""/v1/people: the people the page names, with their affiliations and titles as printed."""

from api import models as m
from api.resources.collection import Collection
from api.schemas import PersonSchema, slug_param


def apply(query, args):
    if "organisation" in args:
        link = m.Affiliation
        query = query.where(m.Person.id.in_(link.select(link.person).where(link.organisation == args["organisation"])))
    return query


people = Collection(
    "people",
    PersonSchema,
    description="People the page names, with affiliations (title as printed) and the events they took part in.",
    includes=("affiliations", "events"),
    examples={"record_id": "kim-jun-ha", "q": "김준하", "sort": "name_ko", "include": "affiliations"},
    filters={"organisation": slug_param(metadata={"description": "People affiliated with this organisation id", "example": "veyond-metaverse"})},
    apply=apply,
)
blp = people.blueprint
