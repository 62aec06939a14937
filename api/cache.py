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

A streamed export too big for an entry is kept on disk instead (`ExportStore`): written to a
file as it is sent, renamed into place once it has been sent whole, and served from the file
the next time, in chunks, with its length. The files are bounded by total bytes too, are
shared by the workers of one machine, and are only ever found under the current version.
"""

import collections
import hashlib
import json
import logging
import os
import pathlib
import shutil
import tempfile
import threading
import uuid

from flask import current_app, g, request
from peewee import DatabaseError, InterfaceError
from werkzeug.wrappers import Response

from api import models as m
from api.db import db
from api.http import FileBody

log = logging.getLogger(__name__)

EXTENSION = "civicfacts_cache"
COUNTS = "civicfacts_counts"
EXPORTS = "civicfacts_exports"
MARK = "civicfacts.cache_version"  # set in the WSGI environ by mark_cacheable
SEEN = "civicfacts.version_seen"  # the version the middleware read before the request
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
        # What was made without the database (the docs, the spec) goes under the version the
        # middleware read before the request: reading it again here would make a down database
        # a 500 on pages that are meant to be served while it is down.
        version = version_of(read_dataset()) if "db_transaction" in g else request.environ.get(SEEN)
        if version is not None:
            request.environ[MARK] = (version, response.is_streamed)
    return response


class ExportStore:
    """Streamed responses kept as files, by (version, request key): what is too big to keep in
    memory (a CSV export of 10^5 rows is 40 MB) but costs seconds to make again. A file is written
    under a temporary name while the response streams and renamed into place (atomic on POSIX)
    only once it was sent whole, so no request is served half a file; its headers go beside it.
    The least recently served go first once the files pass `max_bytes`, and nothing is written
    while the disk has less than twice that free: the store never fills a disk."""

    def __init__(self, directory, max_bytes, scope):
        self.directory, self.max_bytes, self.scope = pathlib.Path(directory), max_bytes, scope
        self.directory.mkdir(parents=True, exist_ok=True)

    def _base(self, version, key):
        # The database URL is part of the name: apps on other databases may share the folder.
        return self.directory / hashlib.sha256(repr((self.scope, version, key)).encode()).hexdigest()

    def open(self, version, key):
        """(status, headers, open file) kept for this request, or None."""
        base = self._base(version, key)
        try:
            handle = open(base.with_suffix(".body"), "rb")
        except FileNotFoundError:
            return None
        try:
            meta = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
            os.utime(handle.fileno())  # served now: the last to be dropped
        except (OSError, ValueError):
            handle.close()
            return None
        return meta["status"], [tuple(header) for header in meta["headers"]], handle

    def writer(self, version, key, status, headers):
        """A _Spill for this response, or None when the disk is short of space."""
        try:
            if shutil.disk_usage(self.directory).free < 2 * self.max_bytes:
                return None
        except OSError:
            return None
        return _Spill(self, self._base(version, key), status, headers)

    def trim(self):
        """Drop the least recently served files until the rest fit in `max_bytes`."""
        kept = []
        for body in self.directory.glob("*.body"):
            try:
                info = body.stat()
            except FileNotFoundError:  # another worker dropped it meanwhile
                continue
            kept.append((info.st_mtime, info.st_size, body))
        total = sum(size for _, size, _ in kept)
        for _, size, body in sorted(kept, key=lambda item: item[0]):
            if total <= self.max_bytes:
                break
            body.unlink(missing_ok=True)
            body.with_suffix(".json").unlink(missing_ok=True)
            total -= size


class _Spill:
    """One response being written to the store. Any OSError (a full disk, a folder gone) gives
    up the file, never the response."""

    def __init__(self, store, base, status, headers):
        self.store, self.base, self.size = store, base, 0
        self.meta = {"status": status, "headers": headers}
        self.partial = store.directory / f".{uuid.uuid4().hex}.partial"
        self.file = None

    def write(self, data):
        if self.partial is None:
            return
        self.size += len(data)
        try:
            if self.size > self.store.max_bytes:
                raise OSError("larger than the whole store")
            if self.file is None:
                self.file = open(self.partial, "wb")
            self.file.write(data)
        except OSError as exc:
            log.warning("not keeping an export on disk: %s", exc)
            self.abandon()

    def finish(self):
        if self.partial is None:
            return
        try:
            if self.file is None:
                self.file = open(self.partial, "wb")
            self.file.close()
            meta = self.store.directory / f".{uuid.uuid4().hex}.partial-json"
            meta.write_text(json.dumps(self.meta), encoding="utf-8")
            os.replace(meta, self.base.with_suffix(".json"))
            os.replace(self.partial, self.base.with_suffix(".body"))
            self.partial = None
            self.store.trim()
        except OSError as exc:
            log.warning("not keeping an export on disk: %s", exc)
            self.abandon()

    def abandon(self):
        if self.file is not None:
            self.file.close()
        if self.partial is not None:
            self.partial.unlink(missing_ok=True)
        self.partial = None


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
    def __init__(self, app, cache, exports=None):
        self.app, self.cache, self.exports = app, cache, exports

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
    app.extensions[EXPORTS] = exports = export_store(app)
    app.after_request(mark_cacheable)
    app.wsgi_app = CachingMiddleware(app.wsgi_app, cache, exports)
    return cache


def export_store(app):
    """The disk store of big exports, or None when it is turned off or its folder cannot be made."""
    max_bytes = int(app.config.get("EXPORT_CACHE_BYTES", 0))
    if max_bytes <= 0:
        return None
    configured = app.config.get("EXPORTS_DIR")
    # By default one folder per user: another user's folder in the shared temp dir is not ours to write.
    directory = configured or pathlib.Path(tempfile.gettempdir()) / f"civicfacts-exports-{os.getuid()}"
    try:
        return ExportStore(directory, max_bytes, app.config["DATABASE_URL"])
    except OSError as exc:
        log.warning("big exports are not kept on disk: %s", exc)
        return None
