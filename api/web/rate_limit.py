"""One budget of requests per client IP across the whole API, counted in front of everything
that answers: the response cache too, so a public deployment keeps both (a cached answer still
costs the client a request of its budget).

A WSGI layer on the `limits` library (what flask-limiter is built on): a fixed window per
client, kept per worker process (`memory://`, the default) or in a shared store
(`redis://host:6379`) that makes it one budget across workers and servers. Only requests a
route answers are counted: a path no route has is a 404 that costs nothing. A request over
the budget is marked here and refused by Flask (api/web/guard.py), so the 429 is problem+json
with every header other errors carry; every counted response says the limit, what remains and
when the window resets. A store that fails lets requests through unlimited, and says so in
the log, rather than refusing everyone.
"""

import functools
import logging
import time

from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from werkzeug.exceptions import HTTPException

EXTENSION = "civicfacts_limiter"
OVER = "civicfacts.rate_limited"  # in the WSGI environ: seconds until the client's window resets
log = logging.getLogger(__name__)
ROUTE_MEMO_PATHS = 4096  # paths whose routing is remembered, each at most ROUTE_MEMO_LENGTH long
ROUTE_MEMO_LENGTH = 512


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory store, its expired windows swept at most once a second by the request
    that finds the sweep due, instead of by a timer thread that the store starts anew for every
    10 ms of traffic. Measured in-process on a cached answer: 217 µs a request with the timer,
    163 µs without, 124 µs with no limit (bench/RESULTS.md). A window is still checked for
    expiry each time it is read (MemoryStorage.get), so a count is never stale; the sweep only
    bounds the memory of clients that went away.

    Relies on MemoryStorage calling its private `__schedule_expiry` from `incr` and on
    `__expire_events`, in limits 5.x (pinned; tests/test_rate_limit.py proves both)."""

    SWEEP_SECONDS = 1.0

    def __init__(self, uri=None, **options):
        super().__init__(uri, **options)
        self.timer.cancel()
        self.next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self):
        now = time.monotonic()
        if now >= self.next_sweep:
            self.next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


def storage_for(uri):
    return SweptMemoryStorage(uri) if uri.split("://", 1)[0] == "memory" else storage_from_string(uri)


class RateLimit:
    def __init__(self, wsgi_app, flask_app, rate, storage_uri):
        self.app = wsgi_app
        # Bound once: the routes match on the path alone (no host or subdomain rules), and
        # binding anew from each request's environ cost a third of a cached answer's time.
        self.routes = flask_app.url_map.bind("localhost")
        self.item = parse(rate)
        self.storage = storage_for(storage_uri)
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

    def hit(self, client):
        """Count one request of `client` in its fixed window: (requests in the window so far,
        when the window ends). What limits' FixedWindowRateLimiter does in `hit` and then
        `get_window_stats`, with one increment and one look-up of the store instead of four."""
        key = self.item.key_for(client)
        count = self.storage.incr(key, self.item.get_expiry())
        return count, self.storage.get_expiry(key)

    def __call__(self, environ, start_response):
        if not self.routed(environ):
            return self.app(environ, start_response)
        client = environ.get("REMOTE_ADDR", "")  # behind trusted proxies, ProxyFix (outside) has set it
        try:
            count, reset = self.hit(client)
        except Exception as exc:  # noqa: BLE001 - a store that is down must not refuse every request
            log.warning("rate limit store failed, serving without a limit: %s", exc)
            return self.app(environ, start_response)
        remaining = max(0, self.item.amount - count)
        if count > self.item.amount:
            environ[OVER] = max(1, int(reset - time.time()) + 1)
        counted = [
            ("X-RateLimit-Limit", str(self.item.amount)),
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
