"""One budget of requests per client IP across the whole API, counted in front of everything
that answers: the response cache too, so a public deployment keeps both (a cached answer still
costs the client a request of its budget).

A WSGI layer: a fixed window per client, its rate parsed by the `limits` library (what
flask-limiter is built on), kept per worker process (`memory://`, the default) or in a store
that limits reaches (`redis://host:6379`), which makes it one budget across workers and servers. Only requests a
route answers are counted: a path no route has is a 404 that costs nothing. A request over
the budget is marked here and refused by Flask (api/web/guard.py), so the 429 is problem+json
with every header other errors carry; every counted response says the limit, what remains and
when the window resets. A store that fails lets requests through unlimited, and says so in
the log, rather than refusing everyone.
"""

import functools
import logging
import threading
import time

from limits import parse
from limits.storage import storage_from_string
from werkzeug.exceptions import HTTPException

EXTENSION = "civicfacts_limiter"
OVER = "civicfacts.rate_limited"  # in the WSGI environ: seconds until the client's window resets
log = logging.getLogger(__name__)
ROUTE_MEMO_PATHS = 4096  # paths whose routing is remembered, each at most ROUTE_MEMO_LENGTH long
ROUTE_MEMO_LENGTH = 512


class ProcessWindows:
    """Each client's fixed window kept in this process (`memory://`): the window starts at the
    client's first request, holds its count, and ends one period later, as limits'
    FixedWindowRateLimiter over its MemoryStorage counts. Kept here because a hit costs about
    1 µs, against about 9 µs through limits' storage (a key built per request, a wrapped
    increment and a second look-up for the expiry): on a cached answer that was 25 µs of some
    300, the share that held target 5 of bench/RESULTS.md near its 90% bar. Expired windows
    are swept at most once a second, by the request that opens a new window when the sweep is
    due; until then no window is added either, so memory stays bounded by the clients seen
    within a period and a second."""

    SWEEP_SECONDS = 1.0

    def __init__(self, period):
        self.period = period
        self.windows = {}  # client -> [end (epoch seconds), requests so far]
        self.lock = threading.Lock()  # a thread's read-increment-write must not lose another's
        self.next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def hit(self, client):
        now = time.time()
        with self.lock:
            window = self.windows.get(client)
            if window is None or now >= window[0]:
                self.sweep_if_due(now)
                window = self.windows[client] = [now + self.period, 0]
            window[1] += 1
            return window[1], window[0]

    def sweep_if_due(self, now):
        clock = time.monotonic()
        if clock < self.next_sweep:
            return
        self.next_sweep = clock + self.SWEEP_SECONDS
        for client in [c for c, (end, _) in self.windows.items() if end <= now]:
            del self.windows[client]


class StoreWindows:
    """The same windows in a store that limits reaches (`redis://host:6379`, ...), one budget
    across workers and servers; what FixedWindowRateLimiter does in `hit` and then
    `get_window_stats`, with one increment and one look-up of the store instead of four."""

    def __init__(self, item, storage):
        self.item, self.storage = item, storage

    def hit(self, client):
        key = self.item.key_for(client)
        count = self.storage.incr(key, self.item.get_expiry())
        return count, self.storage.get_expiry(key)


def windows_for(uri, item):
    if uri.split("://", 1)[0] == "memory":
        return ProcessWindows(item.get_expiry())
    return StoreWindows(item, storage_from_string(uri))


class RateLimit:
    def __init__(self, wsgi_app, flask_app, rate, storage_uri):
        self.app = wsgi_app
        # Bound once: the routes match on the path alone (no host or subdomain rules), and
        # binding anew from each request's environ cost a third of a cached answer's time.
        self.routes = flask_app.url_map.bind("localhost")
        self.item = parse(rate)
        self.windows = windows_for(storage_uri, self.item)
        self.limit_header = ("X-RateLimit-Limit", str(self.item.amount))
        # A repeated path is routed once (werkzeug's matcher: ~9 µs a request), up to a bound.
        self.remembered = functools.lru_cache(maxsize=ROUTE_MEMO_PATHS)(self.match)

    def match(self, path, method):
        try:
            self.routes.match(path.encode("latin-1", "replace").decode("utf-8", "replace"), method)
        except HTTPException:  # no route (404), a method the route lacks (405), a redirect: not counted
            return False
        return True

    def routed(self, environ):
        # PATH_INFO is the path's bytes as latin-1 (PEP 3333); the routes are matched in UTF-8.
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        return (self.remembered if len(path) <= ROUTE_MEMO_LENGTH else self.match)(path, method)

    def __call__(self, environ, start_response):
        if not self.routed(environ):
            return self.app(environ, start_response)
        client = environ.get("REMOTE_ADDR", "")  # behind trusted proxies, ProxyFix (outside) has set it
        try:
            count, reset = self.windows.hit(client)
        except Exception as exc:  # noqa: BLE001 - a store that is down must not refuse every request
            log.warning("rate limit store failed, serving without a limit: %s", exc)
            return self.app(environ, start_response)
        remaining = max(0, self.item.amount - count)
        if count > self.item.amount:
            environ[OVER] = max(1, int(reset - time.time()) + 1)
        counted = [
            self.limit_header,
            ("X-RateLimit-Remaining", str(remaining)),
            ("X-RateLimit-Reset", str(int(reset))),
        ]

        def start(status, headers, exc_info=None):
            return start_response(status, [*headers, *counted], exc_info)

        return self.app(environ, start)


def wrap(app):
    """Put the limit in front of `app`'s WSGI stack when RATE_LIMIT is set (e.g. "120/minute")."""
    rate = app.config.get("RATE_LIMIT")
    if not rate:
        return None
    layer = RateLimit(app.wsgi_app, app, rate, app.config.get("RATE_LIMIT_STORAGE", "memory://"))
    app.wsgi_app = layer
    app.extensions[EXTENSION] = layer
    return layer
