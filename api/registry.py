"""The record types, each declared once: its collection, table, shape and description.

Everything that lists record types reads this: the app factory (one resource per type), the
downloads and their data package, the explorer, the loader's compiled documents. What a type
is in the database (its table, its collection and type names) is declared on its model in
api/store/models.py; its shape as the API shows it, in api/formats/schemas.py; its schema.org
type, in api/formats/jsonld.py. The API's filters, sorts and includes are declared with its
resource, in api/web/resources/<collection>.py.
"""

from dataclasses import dataclass

from api.formats import schemas
from api.formats.csv_export import columns
from api.formats.jsonld import SCHEMA_ORG_TYPES
from api.store import models as m


@dataclass(frozen=True)
class RecordType:
    model: type  # its table: api/store/models.py
    schema: type  # its shape: the JSON document, the CSV columns, the data package, the spec
    description: str  # one sentence, for the docs, the data package and the explorer

    @property
    def name(self):
        """The collection: /v1/<name>, <name>.csv in the download."""
        return self.model.collection

    @property
    def type(self):
        """The singular, as records carry it in `type`."""
        return self.model.record_type

    @property
    def jsonld_types(self):
        return SCHEMA_ORG_TYPES[self.type]

    @property
    def csv_columns(self):
        return columns(self.schema)


RECORD_TYPES = (
    RecordType(m.Source, schemas.SourceSchema, "The source articles: publication, headline, byline, date and the records each is cited for."),
    RecordType(
        m.Organisation, schemas.OrganisationSchema, "Organisations the page names, with kind, parent, other (and misprinted) names and members."
    ),
    RecordType(m.Person, schemas.PersonSchema, "People the page names, with affiliations (title as printed) and the events they took part in."),
    RecordType(m.Place, schemas.PlaceSchema, "Places the page names, with what lies within them and what happened or runs there."),
    RecordType(m.Event, schemas.EventSchema, "Events the page reports, with dates, place, participants and their roles."),
    RecordType(
        m.Programme, schemas.ProgrammeSchema, "Programmes and schemes: operators with roles, places covered, parts, eligibility and benefits."
    ),
    RecordType(
        m.Figure,
        schemas.FigureSchema,
        "Every number printed on the page: value_text as printed, value exact, with unit, qualifier, period and quote.",
    ),
)
BY_NAME = {record_type.name: record_type for record_type in RECORD_TYPES}
BY_TYPE = {record_type.type: record_type for record_type in RECORD_TYPES}
assert list(BY_NAME) == list(m.RECORD_MODELS), "the registry lists every record model, in the store's order"
