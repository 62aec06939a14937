"""/v1/programmes: support schemes and their parts, who runs them and where."""

from marshmallow import fields

from api.registry import BY_NAME
from api.store import models as m
from api.store.fastpath import in_select
from api.web.params import slug_param
from api.web.resources.collection import Collection


def apply(query, args):
    programme = m.Programme
    if "operator" in args:
        link = m.ProgrammeOperator
        query = query.where(in_select(programme.id, link.select(link.programme).where(link.organisation == args["operator"])))
    if "place" in args:
        link = m.ProgrammePlace
        query = query.where(in_select(programme.id, link.select(link.programme).where(link.place == args["place"])))
    if "kind" in args:
        query = query.where(programme.kind == args["kind"])
    if "parent" in args:
        query = query.where(programme.parent == args["parent"])
    if "active_on" in args:
        day = args["active_on"]
        # Only a programme known to have started by that day counts as active on it.
        query = query.where((programme.start_date <= day) & (programme.end_date.is_null() | (programme.end_date >= day)))
    return query


collection = Collection(
    BY_NAME["programmes"],
    sort={"start_date": "start_date", "end_date": "end_date", "kind": "kind"},
    includes=("parent", "parts", "operators", "places", "events", "figures"),
    examples={"record_id": "sme-special-support-area-scheme", "q": "지원", "sort": "kind,-name_ko", "include": "places"},
    filters={
        "operator": slug_param(metadata={"description": "Programmes this organisation id runs or partners in", "example": "gwangju-technopark"}),
        "place": slug_param(metadata={"description": "Programmes covering this place id", "example": "hanam-industrial-complex"}),
        "kind": fields.String(metadata={"description": "A programme kind", "example": "support_scheme"}),
        "parent": slug_param(metadata={"description": "The parts of this programme id", "example": "sme-special-support-area-scheme"}),
        "active_on": fields.Date(
            metadata={"description": "Programmes known to run on this date (a programme with no known start date never matches)"}
        ),
    },
    apply=apply,
)
blp = collection.blueprint
