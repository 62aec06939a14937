"""HTTP behaviour every route shares: JSON encoding, content negotiation, caching, CORS.

ETags are strong and computed from the dataset version and the bytes of the body (or, for
streamed CSV, from the dataset version and the request), so they change when the
representation does and with every new dataset; werkzeug's `make_conditional` answers
If-None-Match with 304.
"""

import functools
import hashlib
from decimal import Decimal

import flask
import orjson
from flask import current_app, g, redirect, request
from flask.json.provider import JSONProvider
from flask_cors import CORS
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import HTTPException, NotAcceptable, NotFound
from werkzeug.http import parse_accept_header
from werkzeug.routing import BaseConverter

from api.query.records import number
from api.web import compression
from api.web.compression import compress
from api.web.params import SLUG

JSON = "application/json"
CSV = "text/csv"


class SlugConverter(BaseConverter):
    """`<slug:record_id>`: a record id. Anything else is no record's URL, so routing answers 404
    before any query runs (a NUL or odd Unicode in a path never reaches the database)."""

    regex = SLUG[1:-1].replace("(-", "(?:-")
    pattern = SLUG  # the same, as the spec's JSON Schema pattern


def _default(value):
    if isinstance(value, Decimal):
        return number(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


class Response(flask.Response):
    """Every response the app makes (Flask turns the views' own into this class).

    A body held in memory goes to the WSGI server as a list of one piece. werkzeug hands over
    an iterator, which granian streams: the headers at once, the body after. A server killed
    between the two left nginx holding headers it had passed on, and a client with a cut
    connection where nginx would have retried the request on another server. Given a list,
    granian writes the headers and the body together, so a killed server has sent all or
    nothing. A streamed body (a CSV export, a download) is still sent as it is made."""

    def get_app_iter(self, environ):
        app_iter = super().get_app_iter(environ)
        if not self.is_sequence:
            return app_iter
        try:
            return [b"".join(app_iter)]
        finally:
            app_iter.close()


class OrjsonProvider(JSONProvider):
    """orjson: fast, and writes Korean as UTF-8 rather than \\uXXXX escapes."""

    def dumps(self, obj, **kwargs):
        return orjson.dumps(obj, default=_default).decode()

    def loads(self, s, **kwargs):
        return orjson.loads(s)

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(orjson.dumps(obj, default=_default), mimetype=JSON)


# Every media type any route offers to `negotiate`: the response cache keys a request by how
# its Accept ranks these (negotiation_key), so a type missing here would let two requests that
# negotiate differently share an entry; negotiate refuses to offer one.
MEDIA_TYPES = (
    JSON,
    CSV,
    "application/ld+json",
    "text/html",
    "text/css",
    "text/javascript",
    "image/png",
    "application/yaml",
    "application/zip",
    "application/vnd.sqlite3",
    "application/octet-stream",
    "text/plain",
)
_KNOWN = frozenset(MEDIA_TYPES)
# Accept headers this short are remembered (most clients send one of a few); a longer one is
# ranked afresh each time, so a client cannot fill the memo with large unique headers.
SHORT_ACCEPT = 256


def negotiation_key(accept):
    """What an Accept header means to `negotiate`, whatever the route offers: whether it was
    given, and for each of MEDIA_TYPES the quality and specificity of the client's entry that
    matches it (what werkzeug's best_match compares). Two headers with the same key negotiate
    the same type on every route, and the key is small however long the header."""
    if len(accept) <= SHORT_ACCEPT:
        return _negotiation_key_memo(accept)
    return _negotiation_key(accept)


def _negotiation_key(accept):
    parsed = parse_accept_header(accept, MIMEAccept)
    ranks = []
    for media in MEDIA_TYPES:
        # werkzeug's own ranking of one offered type (private methods; tests/test_hostile_input.py
        # pins that equal keys negotiate alike, so an upgrade that changed them would show).
        match = parsed._best_single_match(media)
        ranks.append(None if match is None else (match[1], parsed._specificity(match[0])))
    return bool(parsed), tuple(ranks)


_negotiation_key_memo = functools.lru_cache(maxsize=1024)(_negotiation_key)


def negotiate(offered, fmt=None):
    """The media type to answer with: `?format=` wins, then Accept; 406 if none fits."""
    if not _KNOWN.issuperset(offered):
        raise RuntimeError(f"{offered} offers a media type missing from api.web.responses.MEDIA_TYPES")
    if fmt is not None:
        return {"json": JSON, "csv": CSV}[fmt]
    if not request.accept_mimetypes:
        return offered[0]
    best = request.accept_mimetypes.best_match(offered)
    if best is None:
        raise NotAcceptable(f"This resource is available as {', '.join(offered)}; the Accept header allows none of them.")
    return best


def add_caching(response):
    """Cache-Control, Vary and the ETag of the body, then compression (which gives each
    encoding a tag of its own), then If-None-Match against the tag of what would be sent."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    response.headers.setdefault("Cache-Control", "public, max-age=60")
    response.vary.update(["Accept", "Accept-Language"])
    if not response.get_etag()[0]:
        if response.is_streamed:
            return compress(response)
        # One record's body does not name the dataset version, yet a reload may change what
        # the record means (its relations' targets); the version seeds its tag too.
        version = g.get("dataset_version", "").encode()
        response.set_etag(hashlib.sha256(version + b" " + response.get_data()).hexdigest()[:32])
    return compress(response).make_conditional(request)


def canonical_path():
    """before_request: a path that is a route but for a trailing slash (`/v1/figures/`) is
    permanently redirected (308, so the method stays) to the route, with its query string;
    werkzeug's own redirect would be the other way round, to the slash."""
    path = request.path
    if not isinstance(request.routing_exception, NotFound) or len(path) < 2 or not path.endswith("/"):
        return None
    target = path.rstrip("/")
    if not target:
        return None
    try:
        current_app.create_url_adapter(request).match(target, method=request.method)
    except HTTPException:  # not a route either (404), or not for this method (405): the original error stands
        return None
    query = request.query_string.decode("latin-1")
    return redirect(request.script_root + target + (f"?{query}" if query else ""), code=308)


def init_app(app):
    app.response_class = Response
    compression.init_app(app)
    app.before_request(canonical_path)
    app.json = OrjsonProvider(app)
    app.url_map.converters["slug"] = SlugConverter
    # send_wildcard: answer `*` rather than echo each Origin, so one cached response serves every site.
    CORS(
        app,
        resources={r"/*": {"origins": "*"}},
        send_wildcard=True,
        methods=["GET", "HEAD", "OPTIONS"],
        # What a script may read: Content-Disposition names a download, Retry-After says when to try again,
        # Content-Range which part of a download it got.
        expose_headers=["ETag", "Link", "Content-Disposition", "Retry-After", "Content-Range"],
        max_age=86400,  # a preflight answer holds a day: nothing it depends on changes while the app runs
    )
    app.after_request(add_caching)


class FileBody:
    """A response body read from an open file in chunks, never whole. It closes the file when
    the server closes the body, or else when it is collected: a client that never reads the
    body (a HEAD, a test) must not leave a file handle behind."""

    CHUNK = 1 << 16

    def __init__(self, handle):
        self.handle = handle

    def __iter__(self):
        while chunk := self.handle.read(self.CHUNK):
            yield chunk

    def close(self):
        self.handle.close()

    __del__ = close
