"""/v1/people: the people the page names, with their affiliations and titles as printed."""

from api.registry import BY_NAME
from api.store import models as m
from api.store.fastpath import in_select
from api.web.params import slug_param
from api.web.resources.collection import Collection


def apply(query, args):
    if "organisation" in args:
        link = m.Affiliation
        query = query.where(in_select(m.Person.id, link.select(link.person).where(link.organisation == args["organisation"])))
    return query


collection = Collection(
    BY_NAME["people"],
    includes=("affiliations", "events"),
    examples={"record_id": "kim-jun-ha", "q": "김준하", "sort": "name_ko", "include": "affiliations"},
    filters={"organisation": slug_param(metadata={"description": "People affiliated with this organisation id", "example": "veyond-metaverse"})},
    apply=apply,
)
blp = collection.blueprint
