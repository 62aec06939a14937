"""What every blueprint of the API shares: strict query parsing, the errors each operation
documents, the headers of a 200, and links that keep the request's parameters."""

import http
from urllib.parse import urlencode

from flask import request
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser

# The headers every 200 carries (components registered by openapi.CivicApi).
OK_HEADERS = {"ETag": "ETAG", "Cache-Control": "CACHE_CONTROL"}
PAGE_HEADERS = {**OK_HEADERS, "Link": "LINK_NEXT"}


class QueryParser(FlaskParser):
    # A bad parameter is the client's error (400), not an unprocessable entity (422).
    DEFAULT_VALIDATION_STATUS = 400
    # webargs excludes unknown query parameters by default, which would override the schemas'
    # Meta.unknown = RAISE; None defers to the schema, so `?lmit=5` is a 400 naming `lmit`.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None}


class CivicBlueprint(Blueprint):
    ARGUMENTS_PARSER = QueryParser()

    def arguments(self, schema, **kwargs):
        """flask-smorest's, with a schema class made into an instance once: webargs makes one per
        request from a class, and marshmallow copies every field into it (a fifth of a subject's
        page in-process, under the profiler). A schema's load keeps no state between calls."""
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)


# What any request may meet before its route runs (api/guard.py): a body, a query string too
# long, a rate limit.
GUARD_ERRORS = (413, 414, 429)


def documents_errors(blp, *codes):
    """Document these error responses (problem+json) on an operation, and the guard's."""

    def decorate(func):
        for code in sorted({*codes, *GUARD_ERRORS}):
            func = blp.alt_response(code, response=http.HTTPStatus(code).name)(func)
        return func

    return decorate


def url_with(**changes):
    args = {k: v for k, v in request.args.items()}
    args.update({k: v for k, v in changes.items() if v is not None})
    for k, v in changes.items():
        if v is None:
            args.pop(k, None)
    query = urlencode(args)
    return request.base_url + (f"?{query}" if query else "")
