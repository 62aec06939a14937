"""/v1/sources: the seven articles of the page, each with what it is cited for."""

from api.registry import BY_NAME
from api.web.resources.collection import Collection

collection = Collection(
    BY_NAME["sources"],
    sort={"published_on": "published_on", "page_position": "page_position"},
    includes=("publication", "author", "records"),
    examples={"record_id": "kimjang-festival-article", "q": "김장", "sort": "-published_on,page_position", "include": "author"},
)
blp = collection.blueprint
