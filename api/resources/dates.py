"""The from/to date filter shared by figures and events: intervals that overlap."""

from flask_smorest import abort
from marshmallow import fields

DATE_RANGE = {
    "from": fields.Date(metadata={"description": "Only what overlaps the days from this date (ISO 8601)"}),
    "to": fields.Date(metadata={"description": "Only what overlaps the days up to this date (ISO 8601)"}),
}


def overlapping(query, args, start, end):
    """Rows whose [start, end] overlaps [from, to]; rows with no known dates never match."""
    low, high = args.get("from"), args.get("to")
    if low and high and low > high:
        abort(400, message=f"from {low} is after to {high}", errors=[{"parameter": "to", "message": "must not be before from"}])
    if low:
        query = query.where(end >= low)
    if high:
        query = query.where(start <= high)
    return query
