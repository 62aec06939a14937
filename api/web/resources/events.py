"""/v1/events: workshops, signings, briefings, festivals and the like, with who took part."""

from marshmallow import fields

from api.registry import BY_NAME
from api.store import models as m
from api.store.fastpath import in_select
from api.web.params import slug_param
from api.web.resources.collection import Collection
from api.web.resources.dates import DATE_RANGE, overlapping


def apply(query, args):
    event = m.Event
    if "place" in args:
        query = query.where(event.place == args["place"])
    if "kind" in args:
        query = query.where(event.kind == args["kind"])
    if "participant" in args:
        link = m.EventParticipant
        taking_part = link.select(link.event).where((link.organisation == args["participant"]) | (link.person == args["participant"]))
        query = query.where(in_select(event.id, taking_part))
    return overlapping(query, args, event.start_date, m.EVENT_LAST_DAY)


collection = Collection(
    BY_NAME["events"],
    sort={"start_date": "start_date", "end_date": "end_date", "kind": "kind"},
    includes=("place", "participants", "programmes", "figures"),
    examples={"record_id": "kimjang-festival-2023", "q": "김장", "sort": "start_date", "include": "figures"},
    filters={
        "place": slug_param(metadata={"description": "Events at this place id", "example": "kimdaejung-convention-center"}),
        "participant": slug_param(metadata={"description": "Events this organisation or person id took part in", "example": "adam-choi"}),
        "kind": fields.String(metadata={"description": "An event kind", "example": "agreement_signing"}),
        **DATE_RANGE,
    },
    apply=apply,
)
blp = collection.blueprint
