"""Compression of what the API sends (flask-compress): zstd, brotli or gzip, whichever the
client's Accept-Encoding prefers (in that order when it likes them alike), for the text types
over about 1 kB. JSON compresses about fivefold, the contract and the docs' scripts more
(bench/compression.py measures what it costs and saves).

Each encoding is its own representation, so each has its own ETag (flask-compress suffixes
the tag of the identity body: `"abc:gzip"`), and `If-None-Match` is weighed after compressing
(api/web/responses.py), against the tag the client was sent. The response cache keeps what
was sent, compressed, and keys it by the encoding chosen (`encoding_of`), so a hit is not
compressed again.

Downloads (zip, SQLite) are left as they are: a zip is compressed already, and both are sent
from the database in chunks with a length and byte ranges.
"""

from flask import current_app
from flask_compress import Compress
from flask_compress.flask_compress import _choose_algorithm

EXTENSION = "civicfacts_compress"
# The first that the client accepts at its highest quality wins: zstd compresses as well as
# gzip in a fraction of the time, brotli better; gzip is what every client has.
ALGORITHMS = ("zstd", "br", "gzip")
MIMETYPES = (
    "application/json",
    "application/ld+json",
    "application/problem+json",
    "application/yaml",
    "text/csv",
    "text/html",
    "text/css",
    "text/javascript",
    "text/plain",  # the contract's YAML, to a client that asks for text
)
MIN_SIZE = 1024  # below a packet or so, compressing saves no round trip and costs time


def init_app(app):
    app.config.update(
        COMPRESS_MIMETYPES=list(MIMETYPES),
        COMPRESS_ALGORITHM=list(ALGORITHMS),
        COMPRESS_ALGORITHM_STREAMING=list(ALGORITHMS),  # a streamed CSV export too
        COMPRESS_MIN_SIZE=MIN_SIZE,
        COMPRESS_REGISTER=False,  # called by responses.add_caching, between the ETag and If-None-Match
        COMPRESS_EVALUATE_CONDITIONAL_REQUEST=False,  # add_caching does it, for every response
    )
    app.extensions[EXTENSION] = Compress(app)


def compress(response):
    """The response, compressed if the request accepts an encoding and the body is worth it."""
    if response.mimetype not in MIMETYPES:
        return response
    return current_app.extensions[EXTENSION].after_request(response)


def encoding_of(environ):
    """The encoding a response to this request is sent in (if it is compressed at all): what the
    response cache keys by, rather than the Accept-Encoding header, which clients spell many ways.
    flask-compress's own choice, so the two cannot disagree."""
    return _choose_algorithm(ALGORITHMS, environ.get("HTTP_ACCEPT_ENCODING", "").strip()) or ""
