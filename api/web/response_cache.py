"""Responses kept per dataset version: the data changes only when it is loaded.

A WSGI middleware in front of Flask answers a repeated GET from memory. A request that
something kept could answer reads the current dataset from the database first (one small
query), so a reload shows at once, a database that is down still answers 503 (the request
falls through to Flask), and an entry is only ever found under the version the database
holds now. A hit skips everything else: Flask's dispatch, parsing, the queries, representing
and encoding. A request whose key nothing kept holds, under any version (and no export on
disk under the latest version seen), cannot be a hit: it goes straight to Flask, whose own
statement reads the version, so a miss costs no round trip more than no cache at all (on
PostgreSQL under load, a miss cost a third more with the cache on than with it off).

What is kept is the final response of a GET that Flask answered 200, headers and all, as
every after_request hook left it (a streamed CSV export only if it is small: it is passed
through as it streams and kept only while it stays under the size of one entry); Flask's own hook
(`mark_cacheable`) says which version it was computed from, read in that request's
snapshot. The key is that version plus what a body can depend on, and only that
(`request_key`): scheme, host and script root (for the absolute links, as ProxyFix leaves
them), path, query string, the representation the request's Accept negotiates (not the
header itself, which a client can make as long and as unique as it likes) and the encoding
negotiated from Accept-Encoding (the body is kept compressed, as sent). No response varies
on Accept-Language (the explorer shows Korean and English side by side), so it is no part of
the key. A key too long to be one the app answers 200 to is no key: the request goes on to
Flask uncached. Keys count towards the cache's bytes as the responses do. werkzeug makes each
hit conditional (If-None-Match gives a 304), and a HEAD is answered from the GET's entry. A
request that carries a body is never answered from here: the guard refuses a large one (413)
whether or not its URL was cached.

The rate limit counts in front of it (api/web/rate_limit.py), so a hit costs the client a
request as a miss does, and its headers are added outside, never kept. A request over the
limit is never answered from here: it goes on to Flask, which refuses it. An after_request
hook that adds a header which differs per request (an id, a counter) must turn the cache
off, or its header would be replayed.

Bounded per process by total bytes (least recently used goes first), so memory stays flat
however many distinct URLs are asked for.

A streamed export too big for an entry is kept on disk instead (api/web/export_store.py).
"""

import collections
import os
import threading

from flask import g, request
from peewee import DatabaseError, InterfaceError

from api.config import limit_default
from api.query.dataset import current, version_of
from api.store.db import db
from api.web.compression import encoding_of
from api.web.counts import COUNTS, CountCache
from api.web.dataset import read_dataset
from api.web.export_store import EXPORTS, export_store
from api.web.rate_limit import OVER
from api.web.responses import FileBody, Response, negotiation_key
from api.web.transactions import use_app_database

EXTENSION = "civicfacts_cache"
MARK = "civicfacts.cache_version"  # set in the WSGI environ by mark_cacheable
SEEN = "civicfacts.version_seen"  # the version the middleware read before the request
HIT_HEADER = "X-Cache"  # hit or miss: lets the benchmark and a curious operator tell
ENTRY_OVERHEAD = 200  # bytes counted per entry besides its key, body and headers
# A host name is at most 253 bytes, and a port 6 more; guard.MAX_QUERY_STRING bounds the query.
MAX_HOST = 260
MAX_KEY_TEXT = 8192  # path, script root and query string together: past this, no 200 to keep
# Browsers send Accept headers of about 100 bytes; ranking a longer one costs more than it
# saves (negotiation_key), so such a request is answered without the cache.
MAX_ACCEPT = 1024


class ResponseCache:
    """A bounded LRU of (status, headers, body) by key, safe across threads."""

    def __init__(self, max_bytes, max_entry_bytes):
        self.max_bytes, self.max_entry_bytes = max_bytes, max_entry_bytes
        self.entries = collections.OrderedDict()
        self.size = 0
        self.hits = self.misses = 0
        self.lock = threading.Lock()
        self.versions = collections.Counter()  # request key -> how many versions of it are kept

    def holds(self, key):
        """Whether any version's response to the request `key` is kept."""
        return key in self.versions

    def get(self, key):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key, status, headers, body):
        size = key_bytes(key) + len(body) + sum(len(k) + len(v) for k, v in headers) + ENTRY_OVERHEAD
        if size > min(self.max_entry_bytes, self.max_bytes):
            return
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.size -= old[3]
            else:
                self.versions[key[1]] += 1
            self.entries[key] = (status, headers, body, size)
            self.size += size
            while self.size > self.max_bytes:
                (_, dropped_key), dropped = self.entries.popitem(last=False)
                self.size -= dropped[3]
                self.versions[dropped_key] -= 1
                if not self.versions[dropped_key]:
                    del self.versions[dropped_key]


def request_key(environ):
    """What a response to this request may vary on, normalised and bounded; None when the
    request is not one to answer from (or keep in) the cache.

    Behind trusted proxies, ProxyFix (outside this layer) has already put the client's scheme
    and host in wsgi.url_scheme and HTTP_HOST; untrusted X-Forwarded-* change nothing, so they
    are no part of the key. Anything else a response comes to vary on is added here."""
    host, accept = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""), environ.get("HTTP_ACCEPT", "")
    script, path, query = environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
    if len(host) > MAX_HOST or len(accept) > MAX_ACCEPT or len(script) + len(path) + len(query) > MAX_KEY_TEXT:
        return None
    return (environ["wsgi.url_scheme"], host, script, path, query, negotiation_key(accept), encoding_of(environ))


def key_bytes(key):
    """About what a key holds in memory (its text), to count it with the entry."""
    return len(repr(key))


def has_body(environ):
    """Whether the request says it carries a body (a GET should not)."""
    return environ.get("CONTENT_LENGTH", "") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ


def mark_cacheable(response):
    """after_request: note, for the middleware, the version a cacheable response was made from."""
    # A file sent as it is (a download, which api.web.downloads keeps on disk) is not copied here,
    # nor what a view marked as changing within a version (a replica's lag: api/web/replication.py).
    if request.method == "GET" and response.status_code == 200 and not response.direct_passthrough and not g.get("not_cacheable"):
        # What was made without the database (the docs, the spec) goes under the version the
        # middleware read before the request: reading it again here would make a down database
        # a 500 on pages that are meant to be served while it is down.
        version = version_of(read_dataset()) if "db_transaction" in g or "dataset" in g else request.environ.get(SEEN)
        if version is not None:
            request.environ[MARK] = (version, response.is_streamed)
    return response


class _Tee:
    """A streamed body passed through chunk by chunk and kept on the side while it stays under
    `limit` bytes; when it has been sent whole, `done(body)` gets it. Past `limit`, what was kept
    goes to `spill` (a _Spill, or None: then it is let go) and so does the rest, and the spill is
    finished only if the body was sent whole. Memory stays bounded."""

    def __init__(self, body, limit, done, spill=None):
        self.body, self.limit, self.done, self.spill = body, limit, done, spill
        self.chunks, self.size = [], 0

    def __iter__(self):
        for chunk in self.body:
            if self.chunks is not None:
                self.size += len(chunk)
                if self.size <= self.limit:
                    self.chunks.append(chunk)
                else:  # too big to keep in memory: let go of what was kept so far
                    if self.spill is not None:
                        self.spill.write(b"".join([*self.chunks, chunk]))
                    self.chunks = None
            elif self.spill is not None:
                self.spill.write(chunk)
            yield chunk
        if self.chunks is not None:
            self.done(b"".join(self.chunks))
        elif self.spill is not None:
            self.spill.finish()
        self.chunks = self.spill = None

    def close(self):
        if self.spill is not None:  # the client went away before the end: no file of half a body
            self.spill.abandon()
            self.spill = None
        if hasattr(self.body, "close"):
            self.body.close()


class CachingMiddleware:
    def __init__(self, app, cache, exports=None, flask_app=None):
        self.app, self.cache, self.exports, self.flask_app = app, cache, exports, flask_app
        self.latest = None  # the latest version this process has seen (read here, or by a request)

    def current_version(self):
        """The version the database holds now, or None when it cannot say (Flask then answers)."""
        if self.flask_app is not None:
            use_app_database(self.flask_app)
        try:
            with db.connection_context():
                version = version_of(current(db))
        except (DatabaseError, InterfaceError, ValueError):  # ValueError: the pool is exhausted
            return None
        self.latest = version
        return version

    def cannot_hit(self, key):
        """Whether nothing kept could answer `key` whatever the version now is: no entry of
        it in memory, and no export on disk under the latest version seen (another worker's,
        in the shared folder). Until a version has been seen, anything may be on disk."""
        latest = self.latest
        if latest is None or self.cache.holds(key):
            return False
        return self.exports is None or not self.exports.holds(latest, key)

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD") or OVER in environ or has_body(environ):
            return self.app(environ, start_response)  # Flask refuses what is over a limit
        key = request_key(environ)
        if key is None:
            return self.app(environ, start_response)
        if self.cannot_hit(key):
            if method != "GET":
                return self.app(environ, start_response)
            # What is made without the database (the docs) is kept under the latest version seen:
            # correct under any version, and made again once a request finds that one older.
            environ[SEEN] = self.latest
            return self._miss(environ, start_response, key)
        version = self.current_version()
        entry = None if version is None else self.cache.get((version, key))
        if entry is not None:
            status, headers, body, _ = entry
            response = Response(body, status=status, headers=headers)
            response.headers[HIT_HEADER] = "hit"
            return response.make_conditional(environ)(environ, start_response)
        kept = None if version is None or self.exports is None else self.exports.open(version, key)
        if kept is not None:
            status, headers, handle = kept
            response = Response(FileBody(handle), status=status, headers=headers, direct_passthrough=True)
            response.content_length = os.fstat(handle.fileno()).st_size
            response.headers[HIT_HEADER] = "hit"
            return response.make_conditional(environ)(environ, start_response)
        if method != "GET":
            return self.app(environ, start_response)
        environ[SEEN] = version
        return self._miss(environ, start_response, key)

    def _miss(self, environ, start_response, key):
        captured = []

        def capture(status, headers, exc_info=None):
            captured.append((status, headers))
            return start_response(status, [*headers, (HIT_HEADER, "miss")], exc_info)

        body = self.app(environ, capture)
        mark = environ.get(MARK)
        if mark is None or not captured or not captured[0][0].startswith("200"):
            return body
        (version, streamed), (status, headers) = mark, captured[0]
        self.latest = version  # as the request's own snapshot read it
        kept = [(k, v) for k, v in headers if k.lower() != "date"]

        def keep(data):
            self.cache.put((version, key), int(status.split(" ", 1)[0]), kept, data)

        if streamed:  # a CSV export: kept in memory if it turns out small, on disk if not
            spill = None if self.exports is None else self.exports.writer(version, key, int(status.split(" ", 1)[0]), kept)
            return _Tee(body, self.cache.max_entry_bytes, keep, spill)
        chunks = list(body)  # not streamed: the body is in memory already
        if hasattr(body, "close"):
            body.close()
        keep(b"".join(chunks))
        return chunks


def init_app(app):
    """Put the cache in front of `app` unless it is turned off."""
    max_bytes = int(app.config.get("RESPONSE_CACHE_BYTES", 0))
    if max_bytes <= 0:
        return None
    cache = ResponseCache(max_bytes, int(app.config.get("RESPONSE_CACHE_ENTRY_BYTES", limit_default("RESPONSE_CACHE_ENTRY_BYTES"))))
    app.extensions[EXTENSION] = cache
    app.extensions[COUNTS] = CountCache()
    app.extensions[EXPORTS] = exports = export_store(app)
    app.after_request(mark_cacheable)
    app.wsgi_app = CachingMiddleware(app.wsgi_app, cache, exports, app)
    return cache
