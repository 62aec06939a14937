"""The from/to date filter shared by figures and events: intervals that overlap."""

from marshmallow import fields
from peewee import SQL

DATE_RANGE = {
    # The examples are the kimchi festival's run, which figures and events both overlap.
    "from": fields.Date(metadata={"description": "Only what overlaps the days from this date (ISO 8601)", "example": "2023-11-22"}),
    "to": fields.Date(metadata={"description": "Only what overlaps the days up to this date (ISO 8601)", "example": "2023-12-10"}),
}


def overlapping(query, args, start, end):
    """Rows whose [start, end] overlaps [from, to]; rows with no known dates never match.

    A range with from after to holds no day, so it overlaps nothing and the answer is an
    empty page, not an error: the contract (JSON Schema) cannot relate two parameters, so a
    400 here would be an answer the spec does not admit.
    """
    low, high = args.get("from"), args.get("to")
    if low and high and low > high:
        return query.where(SQL("1 = 0"))
    if low:
        query = query.where(end >= low)
    if high:
        query = query.where(start <= high)
    return query
