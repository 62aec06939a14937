"""/v1/sources: the seven articles of the page, each with what it is cited for."""

from api.resources.collection import Collection
from api.schemas import SourceSchema

sources = Collection(
    "sources",
    SourceSchema,
    description="The source articles: publication, headline, byline, date and the records each is cited for.",
    sort={"published_on": "published_on", "page_position": "page_position"},
    includes=("publication", "author", "records"),
    examples={"record_id": "kimjang-festival-article", "q": "김장", "sort": "-published_on,page_position", "include": "author"},
)
blp = sources.blueprint
