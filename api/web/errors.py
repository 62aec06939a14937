"""One error shape: RFC 9457 `application/problem+json`, whoever raises the error.

flask-smorest routes every HTTPException through `Api.handle_http_exception`, which
`CivicApi` (api/web/openapi.py) points at `http_problem`; the rest reach Flask's error
handlers, registered here.
Validation errors from webargs arrive as `{"query": {"limit": [...]}}` and leave as a
list naming each parameter.
"""

import http
import logging

import marshmallow as ma
import orjson
from flask import Response, current_app, render_template, request
from peewee import InterfaceError, OperationalError, ProgrammingError
from werkzeug.exceptions import HTTPException, InternalServerError

from api.store.readiness import missing_step
from api.store.urls import redacted

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = "5"
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
    links = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(), metadata={"description": "Where to go instead (410: the record's `history`)"}
    )


def problem_body(status, detail, instance, errors=None, links=None):
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
    if links:
        body["links"] = links
    return body


def problem(status, detail, errors=None, headers=None, links=None):
    """A problem+json response."""
    body = problem_body(status, detail, request.path if request else "", errors, links)
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


def http_problem(error):
    """The problem+json response for an HTTPException, whoever raised it."""
    data = getattr(error, "data", None) or {}
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    headers.update(data.get("headers") or {})
    if error.code == 503:
        headers.setdefault("Retry-After", RETRY_AFTER_SECONDS)  # a 429 carries its own: when the client's window ends
    errors = data.get("errors")
    if errors is None and "messages" in data:
        errors = flatten_validation(data["messages"])
    detail = data.get("message") or error.description or error.name
    if errors and "message" not in data:
        detail = "; ".join(f"{e['parameter']}: {e['message']}" if e.get("parameter") else e["message"] for e in errors)
    if data.get("not_ready"):
        return not_ready(detail)
    return problem(error.code, detail, errors, headers, data.get("links"))


def wants_html():
    return request.accept_mimetypes.best_match([PROBLEM_JSON, "application/json", "text/html"]) == "text/html"


def not_ready(detail):
    """The 503 of a database that lacks a step (migrate, load): waiting will not mend it, so
    the detail names the command to run, and a browser gets it as a page (the explorer's)."""
    if wants_html():
        response = Response(render_template("explorer/not_ready.html", detail=detail), status=503, mimetype="text/html")
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response
    return problem(503, detail, headers={"Retry-After": RETRY_AFTER_SECONDS})


def database_unavailable(error):
    url = current_app.config["DATABASE_URL"]
    step = missing_step(error, url)
    log.warning("database %s %s: %s", redacted(url), "not set up" if step else "unavailable", error)
    if step:
        return not_ready(step)
    return problem(503, "The database is unavailable; try again shortly.", headers={"Retry-After": RETRY_AFTER_SECONDS})


def query_failed(error):
    """A ProgrammingError is a bug, unless a table is missing: a database not migrated yet."""
    if missing_step(error, current_app.config["DATABASE_URL"]):
        return database_unavailable(error)
    return unexpected(error)


def unexpected(error):
    if isinstance(error, HTTPException):
        return error
    log.exception("unhandled error", exc_info=error)
    return problem(500, InternalServerError.description)


def register(app):
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(InterfaceError, database_unavailable)
    app.register_error_handler(ProgrammingError, query_failed)
    app.register_error_handler(Exception, unexpected)
