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

import logging
import time

from limits import parse
from limits.storage import storage_from_string
from werkzeug.exceptions import HTTPException

EXTENSION = "civicfacts_limiter"
OVER = "civicfacts.rate_limited"  # in the WSGI environ: seconds until the client's window resets
log = logging.getLogger(__name__)


class RateLimit:
    def __init__(self, wsgi_app, flask_app, rate, storage_uri):
        self.app = wsgi_app
        # Bound once: the routes match on the path alone (no host or subdomain rules), and
        # binding anew from each request's environ cost a third of a cached answer's time.
        self.routes = flask_app.url_map.bind("localhost")
        self.item = parse(rate)
        self.storage = storage_from_string(storage_uri)

    def routed(self, environ):
        # PATH_INFO is the path's bytes as latin-1 (PEP 3333); the routes are matched in UTF-8.
        path = environ.get("PATH_INFO", "").encode("latin-1", "replace").decode("utf-8", "replace")
        try:
            self.routes.match(path, environ.get("REQUEST_METHOD", "GET"))
        except HTTPException:  # no route (404), a method the route lacks (405), a redirect: not counted
            return False
        return True

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
