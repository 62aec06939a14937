"""Responses kept per dataset version: the data changes only when it is loaded.

A WSGI middleware in front of Flask answers a repeated GET from memory. Every request
still reads the current dataset from the database (one small query), so a reload shows
at once, a database that is down still answers 503 (the request falls through to Flask),
and an entry is only ever found under the version the database holds now. A hit skips
everything else: Flask's dispatch, parsing, the queries, representing and encoding.

What is kept is the final response of a GET that Flask answered 200, headers and all, as
every after_request hook left it (a streamed CSV export only if it is small: it is passed
through as it streams and kept only while it stays under the size of one entry); Flask's own hook
(`mark_cacheable`) says which version it was computed from, read in that request's
snapshot. The key is that version plus everything of the request a body can depend on:
scheme, host and script root (for the absolute links; X-Forwarded-* too), path, query
string, Accept and Accept-Language. werkzeug makes each hit conditional (If-None-Match gives a 304), and a
HEAD is answered from the GET's entry.

Not installed while rate limiting is on: a hit never reaches the limiter. An after_request
hook that adds a header which differs per request (an id, a counter) must also turn this
off, or its header would be replayed.

Bounded per process by total bytes (least recently used goes first), so memory stays flat
however many distinct URLs are asked for.
"""

import collections
import threading

from flask import current_app, g, request
from peewee import DatabaseError, InterfaceError
from werkzeug.wrappers import Response

from api import models as m
from api.db import db

EXTENSION = "civicfacts_cache"
COUNTS = "civicfacts_counts"
MARK = "civicfacts.cache_version"  # set in the WSGI environ by mark_cacheable
HIT_HEADER = "X-Cache"  # hit or miss: lets the benchmark and a curious operator tell
# Written out once: building it with peewee on every request would cost more than running it.
DATASET_SQL = 'SELECT "id", "version", "loaded_at", "seeds_dir" FROM "dataset" ORDER BY "id" DESC LIMIT 1'
FORWARDED = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX")
ENTRY_OVERHEAD = 200  # bytes counted per entry besides its body and headers


class ResponseCache:
    """A bounded LRU of (status, headers, body) by key, safe across threads."""

    def __init__(self, max_bytes, max_entry_bytes):
        self.max_bytes, self.max_entry_bytes = max_bytes, max_entry_bytes
        self.entries = collections.OrderedDict()
        self.size = 0
        self.hits = self.misses = 0
        self.lock = threading.Lock()

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
        size = len(body) + sum(len(k) + len(v) for k, v in headers) + ENTRY_OVERHEAD
        if size > min(self.max_entry_bytes, self.max_bytes):
            return
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.size -= old[3]
            self.entries[key] = (status, headers, body, size)
            self.size += size
            while self.size > self.max_bytes:
                _, dropped = self.entries.popitem(last=False)
                self.size -= dropped[3]


def _dataset_row_to_model(row):
    if row is None:
        return None
    return m.Dataset(id=row[0], version=row[1], loaded_at=m.Dataset.loaded_at.python_value(row[2]), seeds_dir=row[3])


def read_dataset():
    """The loaded Dataset in this request's snapshot (None if none is loaded), read once."""
    if "dataset" not in g:
        g.dataset = _dataset_row_to_model(db.execute_sql(DATASET_SQL).fetchone())
    return g.dataset


def version_of(dataset):
    """What identifies a loaded dataset: the version is a hash of the seeds, so loading the
    same seeds again keeps it; the load time is part of it because the index shows it."""
    return None if dataset is None else (dataset.id, dataset.version, str(dataset.loaded_at))


def request_key(environ):
    return (
        environ["wsgi.url_scheme"], environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""), environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
        environ.get("HTTP_ACCEPT", ""), environ.get("HTTP_ACCEPT_LANGUAGE", ""),
        # What ProxyFix (below this middleware) turns into the scheme, host and prefix of links.
        *(environ.get(name, "") for name in FORWARDED),
    )


def mark_cacheable(response):
    """after_request: note, for the middleware, the version a cacheable response was made from."""
    # A file sent as it is (a download, which api.downloads keeps on disk) is not copied here.
    if request.method == "GET" and response.status_code == 200 and not response.direct_passthrough:
        request.environ[MARK] = (version_of(read_dataset()), response.is_streamed)
    return response


class _Tee:
    """A streamed body passed through chunk by chunk and kept on the side while it stays under
    `limit` bytes; when it has been sent whole, `done(body)` gets it. Memory stays bounded."""

    def __init__(self, body, limit, done):
        self.body, self.limit, self.done = body, limit, done
        self.chunks, self.size = [], 0

    def __iter__(self):
        for chunk in self.body:
            if self.chunks is not None:
                self.size += len(chunk)
                if self.size <= self.limit:
                    self.chunks.append(chunk)
                else:
                    self.chunks = None  # too big to keep: let go of what was kept so far
            yield chunk
        if self.chunks is not None:
            self.done(b"".join(self.chunks))
        self.chunks = None

    def close(self):
        if hasattr(self.body, "close"):
            self.body.close()


class CachingMiddleware:
    def __init__(self, app, cache):
        self.app, self.cache = app, cache

    def current_version(self):
        """The version the database holds now, or None when it cannot say (Flask then answers)."""
        try:
            with db.connection_context():
                return version_of(_dataset_row_to_model(db.execute_sql(DATASET_SQL).fetchone()))
        except (DatabaseError, InterfaceError, ValueError):  # ValueError: the pool is exhausted
            return None

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        key = request_key(environ)
        version = self.current_version()
        entry = None if version is None else self.cache.get((version, key))
        if entry is not None:
            status, headers, body, _ = entry
            response = Response(body, status=status, headers=headers)
            response.headers[HIT_HEADER] = "hit"
            return response.make_conditional(environ)(environ, start_response)
        if method != "GET":
            return self.app(environ, start_response)
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
        kept = [(k, v) for k, v in headers if k.lower() != "date"]

        def keep(data):
            self.cache.put((version, key), int(status.split(" ", 1)[0]), kept, data)

        if streamed:  # a CSV export: kept too if it turns out small, never held in memory if not
            return _Tee(body, self.cache.max_entry_bytes, keep)
        chunks = list(body)  # not streamed: the body is in memory already
        if hasattr(body, "close"):
            body.close()
        keep(b"".join(chunks))
        return chunks


class CountCache:
    """Totals of filtered lists by (dataset version, collection, filters): every page of one
    list has the same total, and counting 10^6 rows for each page of a walk is the slow part."""

    def __init__(self, max_entries=10_000):
        self.max_entries = max_entries
        self.entries = collections.OrderedDict()
        self.lock = threading.Lock()

    def get_or_count(self, key, count):
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
        total = count()
        with self.lock:
            self.entries[key] = total
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)
        return total


NOT_FILTERS = ("cursor", "limit", "sort", "include", "format")


def total_of(collection, args, query):
    """query.count(), remembered per dataset version for these filters while the cache is on."""
    counts = current_app.extensions.get(COUNTS)
    if counts is None:
        return query.count()
    filters = tuple(sorted((k, str(v)) for k, v in args.items() if k not in NOT_FILTERS))
    return counts.get_or_count((version_of(read_dataset()), collection, filters), query.count)


def init_app(app):
    """Put the cache in front of `app` unless it is turned off or rate limiting is on."""
    max_bytes = int(app.config.get("RESPONSE_CACHE_BYTES", 0))
    if max_bytes <= 0 or app.config.get("RATELIMIT_ENABLED"):
        return None
    cache = ResponseCache(max_bytes, int(app.config.get("RESPONSE_CACHE_ENTRY_BYTES", 4 << 20)))
    app.extensions[EXTENSION] = cache
    app.extensions[COUNTS] = CountCache()
    app.after_request(mark_cacheable)
    app.wsgi_app = CachingMiddleware(app.wsgi_app, cache)
    return cache
