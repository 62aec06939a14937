"""One error shape: RFC 9457 `application/problem+json`, whoever raises the error.

flask-smorest routes every HTTPException through `Api.handle_http_exception`; `CivicApi`
overrides it (and the error responses it documents) so that the spec and the wire agree.
Validation errors from webargs arrive as `{"query": {"limit": [...]}}` and leave as a
list naming each parameter.
"""

import http
import logging

import marshmallow as ma
import orjson
from flask import Response, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from peewee import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from api.guard import MAX_QUERY_STRING

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class ProblemDetailSchema(ma.Schema):
    parameter = ma.fields.String(metadata={"description": "The query parameter or field at fault"})
    message = ma.fields.String(required=True)


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = ma.fields.String(required=True, metadata={"description": "A URI naming the kind of problem"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    instance = ma.fields.String(required=True, metadata={"description": "The path that was requested"})
    errors = ma.fields.List(ma.fields.Nested(ProblemDetailSchema), metadata={"description": "One entry per fault"})


def problem_body(status, detail, instance, errors=None):
    """The problem details of an error (also written by api/serve.py for the errors gunicorn
    answers itself, before any request reaches the app)."""
    phrase = http.HTTPStatus(status).phrase
    body = {
        "type": f"https://civicfacts.example/problems/{phrase.lower().replace(' ', '-')}",
        "title": phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = errors
    return body


# What the API answers for the errors clients meet most, as the docs' examples (one per
# status: a 404's example must not be a 400). tests/test_contract.py makes these requests.
LIMIT_RANGE = "Must be greater than or equal to 1 and less than or equal to 500."
PROBLEM_EXAMPLES = {
    400: problem_body(400, f"limit: {LIMIT_RANGE}", "/v1/figures", [{"parameter": "limit", "message": LIMIT_RANGE}]),
    404: problem_body(404, "There is no figure with id 'no-such-figure'.", "/v1/figures/no-such-figure"),
    406: problem_body(406, "This resource is available as application/json, text/csv; the Accept header allows none of them.", "/v1/figures"),
}


def problem(status, detail, errors=None, headers=None):
    """A problem+json response."""
    body = problem_body(status, detail, request.path if request else "", errors)
    response = Response(orjson.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def flatten_validation(messages):
    """webargs' {"query": {"limit": ["msg"]}} -> [{"parameter": "limit", "message": "msg"}]."""
    errors = []
    for location_errors in messages.values():
        items = location_errors.items() if isinstance(location_errors, dict) else [("", location_errors)]
        for name, texts in items:
            texts = texts if isinstance(texts, list) else [str(texts)]
            for text in texts:
                message = text if isinstance(text, str) else str(text)
                errors.append({"parameter": str(name), "message": message})
    return errors


# Header components, referenced by name from the responses that carry them.
HEADERS = {
    "ETAG": {
        "description": "A strong entity tag of this representation: send it in If-None-Match to get 304 while it holds",
        "required": True,
        "schema": {"type": "string", "pattern": '^"[\\x21\\x23-\\x7e]*"$'},
    },
    "CACHE_CONTROL": {
        "description": "How long caches may keep the response",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    },
    "LINK_NEXT": {
        "description": "The next page, when there is one (the same URL as links.next)",
        "schema": {"type": "string", "pattern": '^<[^>]+>; rel="next"$'},
    },
    "RETRY_AFTER": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
}
RETRY_AFTER_SECONDS = "5"
RETRY_STATUSES = (429, 503)
# The errors every operation documents, whatever it does: the spec is the same whether or not
# this server is configured to limit rates, so 429 is always in it.
DESCRIPTIONS = {
    413: "The request has a body larger than the API accepts (it reads none)",
    414: f"The query string is longer than {MAX_QUERY_STRING} bytes",
    429: "This client sent more requests than the rate limit allows; wait Retry-After seconds. "
         "Only when the server sets a rate limit (CIVICFACTS_RATE_LIMIT, off by default)",
    503: "The database is unavailable, locked or too slow to answer; try again after Retry-After seconds",
}
NUL_FREE = r"^[^\x00]*$"


def nul_free_query_strings(self, field, ret=None, **kwargs):
    """apispec attribute function: a free-text query parameter may not hold NUL (guard.check_query_string
    refuses one with 400 for every parameter), and the spec says so, so a client can tell."""
    from api.schemas import StrictQuerySchema

    ret = ret or {}
    if not isinstance(field.parent, StrictQuerySchema) or ret.get("type") != "string":
        return {}
    if any(key in ret for key in ("pattern", "enum", "format")):
        return {}
    return {"pattern": NUL_FREE}


def parameter_example(self, field, ret=None, **kwargs):
    """apispec parameter attribute function: a field's example goes on its parameter, where
    Swagger UI fills it in and schemathesis' examples phase sends it."""
    schema = (ret or {}).get("schema") or {}
    return {"example": schema.pop("example")} if "example" in schema else {}


class CivicApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app=None, **kwargs):
        super().__init__(app, **kwargs)
        from api.http import SlugConverter

        self.register_converter(SlugConverter, lambda converter: {"type": "string", "pattern": converter.pattern})
        self.ma_plugin.converter.add_attribute_function(nul_free_query_strings)
        self.ma_plugin.converter.add_parameter_attribute_function(parameter_example)
        from api.filters import blank_means_any

        self.ma_plugin.converter.add_attribute_function(blank_means_any)  # last: it wraps what the others made

    def _register_responses(self):
        # flask-smorest documents errors as application/json with its own schema; ours are
        # problem+json, and the spec must say so or contract tests would (rightly) fail.
        for name, header in HEADERS.items():
            self.spec.components.header(name, header, lazy=True)
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            if status in RETRY_STATUSES:
                response["headers"] = {"Retry-After": "RETRY_AFTER"}
            response["description"] = DESCRIPTIONS.get(status, status.phrase)
            if status in PROBLEM_EXAMPLES:
                response["example"] = PROBLEM_EXAMPLES[status]
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error, as RFC 9457 problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def _register_etag_headers(self):
        # flask-smorest registers its own ETAG header (optional, any string) after the
        # responses; ours replaces it, so the spec says every 200 carries a strong ETag.
        super()._register_etag_headers()
        self.spec.components.header("ETAG", HEADERS["ETAG"], lazy=True)

    def handle_http_exception(self, error):
        data = getattr(error, "data", None) or {}
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
        headers.update(data.get("headers") or {})
        if error.code == 503:
            headers.setdefault("Retry-After", RETRY_AFTER_SECONDS)  # a 429's comes from flask-limiter: when its window ends
        errors = data.get("errors")
        if errors is None and "messages" in data:
            errors = flatten_validation(data["messages"])
        detail = data.get("message") or error.description or error.name
        if errors and "message" not in data:
            detail = "; ".join(f"{e['parameter']}: {e['message']}" if e.get("parameter") else e["message"] for e in errors)
        return problem(error.code, detail, errors, headers)


def database_unavailable(error):
    log.warning("database unavailable: %s", error)
    return problem(503, "The database is unavailable; try again shortly.", headers={"Retry-After": RETRY_AFTER_SECONDS})


def unexpected(error):
    if isinstance(error, HTTPException):
        return error
    log.exception("unhandled error", exc_info=error)
    return problem(500, InternalServerError.description)


def register(app):
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(InterfaceError, database_unavailable)
    app.register_error_handler(Exception, unexpected)
