"""/v1/figures: every number on the page, as printed and as a value."""

from marshmallow import fields, validate

from api.formats.schemas import QUALIFIERS
from api.registry import BY_NAME
from api.store import models as m
from api.store.fastpath import in_select
from api.web.params import AsciiDecimal, slug_param
from api.web.resources.collection import Collection
from api.web.resources.dates import DATE_RANGE, overlapping


def apply(query, args):
    figure = m.Figure
    if "subject" in args:
        query = query.where(in_select(figure.id, m.FigureSubject.select(m.FigureSubject.figure).where(m.FigureSubject.subject_id == args["subject"])))
    if "unit" in args:
        query = query.where(figure.unit == args["unit"])
    if "source" in args:
        cited = m.Citation.select(m.Citation.record_id).where((m.Citation.record_type == "figure") & (m.Citation.source == args["source"]))
        query = query.where(in_select(figure.id, cited))
    if "qualifier" in args:
        query = query.where(figure.qualifier == args["qualifier"])
    if "min" in args:
        query = query.where(figure.value >= args["min"])
    if "max" in args:
        query = query.where(figure.value <= args["max"])
    return overlapping(query, args, m.FIGURE_FIRST_DAY, m.FIGURE_LAST_DAY)


collection = Collection(
    BY_NAME["figures"],
    sort={"value": "value", "unit": "unit", "period_start": "period_start", "period_end": "period_end", "as_of": "as_of"},
    includes=("subjects", "parts", "part_of", "comparisons"),
    examples={"record_id": "kimjang-festival-2023-sales-amount", "q": "9676만원", "sort": "-value", "include": "subjects"},
    filters={
        "subject": slug_param(metadata={"description": "Figures about this record id", "example": "kimjang-festival-2023"}),
        "unit": fields.String(
            validate=validate.Regexp(r"^[A-Za-z0-9_]{1,50}$"), metadata={"description": "A unit code from /v1/units", "example": "KRW"}
        ),
        "source": slug_param(metadata={"description": "Figures cited from this source id", "example": "kimjang-festival-article"}),
        "qualifier": fields.String(validate=validate.OneOf(QUALIFIERS), metadata={"example": "at_least"}),
        "min": AsciiDecimal(metadata={"description": "value >= min", "example": 1000000000}),
        "max": AsciiDecimal(metadata={"description": "value <= max", "example": 1470000000}),
        **DATE_RANGE,
    },
    apply=apply,
)
blp = collection.blueprint
