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
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import HTTPException

EXTENSION = "civicfacts_limiter"
OVER = "civicfacts.rate_limited"  # in the WSGI environ: seconds until the client's window resets
log = logging.getLogger(__name__)


class RateLimit:
    def __init__(self, wsgi_app, flask_app, rate, storage_uri):
        self.app, self.url_map = wsgi_app, flask_app.url_map
        self.item = parse(rate)
        self.limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))

    def routed(self, environ):
        try:
            self.url_map.bind_to_environ(environ).match()
        except HTTPException:  # no route (404), or a method the route lacks (405): not counted
            return False
        return True

    def __call__(self, environ, start_response):
        if not self.routed(environ):
            return self.app(environ, start_response)
        client = environ.get("REMOTE_ADDR", "")  # behind trusted proxies, ProxyFix (outside) has set it
        try:
            allowed = self.limiter.hit(self.item, client)
            reset, remaining = self.limiter.get_window_stats(self.item, client)
        except Exception as exc:  # noqa: BLE001 - a store that is down must not refuse every request
            log.warning("rate limit store failed, serving without a limit: %s", exc)
            return self.app(environ, start_response)
        if not allowed:
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
