"""A replica's lag, as an app server reports it (GET /v1, /v1/health) and acts on it.

An app server reading a hot standby knows where its replay stands (api/query/replication.py).
Caught up (it has replayed all it received): no lag. Behind: the data it serves is at least as
new as what it had received when it was last seen caught up, or when it had received a WAL
position it has since replayed, so its lag is at most the time since then (or since the last
commit it replayed, if that is less). The estimate errs high, never low; a first look that
finds it behind after a quiet spell looks again a moment later, so that WAL a standby is
replaying as it arrives does not count as lag.

Past MAX_REPLICA_LAG seconds the server answers every request 503 (the outermost WSGI layer),
so that the load balancer's passive health checks take it out and retry the request on another
server, until it has caught up. That layer looks at most once a second, in a thread of its own:
the request that starts a look waits for it a quarter of a second at most (a look takes a
millisecond), and is answered from the last look if it is not done by then, so a database that
does not answer costs no request a connect timeout. /v1/health always
answers with the state it reads then (200, or 503 with the lag), for an operator or an active
health check.
"""

import logging
import math
import threading
import time

import orjson
from flask import current_app, g
from peewee import DatabaseError, InterfaceError

from api.query.replication import status
from api.store.db import db, is_postgres
from api.web.errors import PROBLEM_JSON, RETRY_AFTER_SECONDS, problem_body
from api.web.responses import Response

EXTENSION = "civicfacts_replication"
HEALTH_PATH = "/v1/health"
CHECK_SECONDS = 1.0  # how stale the outermost layer's view may be
SECOND_LOOK_SECONDS = 0.1
LOOK_WAIT_SECONDS = 0.25  # how long the request that starts a look waits for it
log = logging.getLogger(__name__)


class LagMonitor:
    """This process's view of its database's replication, shared by its threads."""

    def __init__(self, max_lag, clock=time.monotonic, sleep=time.sleep):
        self.max_lag = max_lag or None
        self.clock, self.sleep = clock, sleep
        self.lock = threading.Lock()
        self.caught_up_at = None  # the clock's time as of which it had everything it has replayed since
        self.waiting = None  # (a received WAL position, when it was seen) not replayed yet at the time
        self.checked_at = -math.inf
        self.lag = None
        self.looking = False  # a look is being taken (recent_lag)

    def observe(self, replication):
        """The lag of `replication` (api.query.replication.Replication) in seconds, None if the
        database is a primary or cannot tell, and whether this look is the first since it fell
        behind (then the lag is only the bound above)."""
        now = self.clock()
        first = False
        with self.lock:
            caught_up = replication.caught_up
            if not replication.replica or caught_up is None:
                lag = None
            elif caught_up:
                self.caught_up_at, self.waiting, lag = now, None, 0.0
            else:
                if self.waiting is not None and replication.replayed >= self.waiting[0]:
                    self.caught_up_at = max(self.caught_up_at or -math.inf, self.waiting[1])
                    self.waiting = None
                if self.waiting is None:
                    first = self.caught_up_at is None or now - self.caught_up_at > CHECK_SECONDS * 2
                    self.waiting = (replication.received, now)
                known = [b for b in (replication.replay_age, None if self.caught_up_at is None else now - self.caught_up_at) if b is not None]
                lag = max(0.0, min(known)) if known else None
            self.checked_at, self.lag = now, lag
        return lag, first

    def measure(self, read):
        """(replication, lag) read with `read()`, looking twice when the first look is over the
        bound but knows no more than that (None if the database cannot say)."""
        replication = read()
        if replication is None:
            with self.lock:
                self.checked_at, self.lag = self.clock(), None
            return None, None
        lag, first = self.observe(replication)
        if first and self.too_far_behind(lag):
            self.sleep(SECOND_LOOK_SECONDS)
            replication = read() or replication
            lag, _ = self.observe(replication)
        return replication, lag

    def too_far_behind(self, lag):
        return self.max_lag is not None and lag is not None and lag > self.max_lag

    def describe(self, replication, lag):
        """What GET /v1 and /v1/health say of the database (envelopes.DatabaseStateSchema)."""
        return {
            "role": "replica" if replication.replica else "primary",
            "caught_up": replication.caught_up,
            "lag_seconds": None if lag is None else round(lag, 3),
            "max_lag_seconds": self.max_lag,
        }

    def recent_lag(self, read):
        """The lag last seen; when that look is more than CHECK_SECONDS old, the next is taken
        (`read()`) in a thread of its own."""
        with self.lock:
            look = not self.looking and self.clock() - self.checked_at >= CHECK_SECONDS
            if look:
                self.looking = True
        if look:
            thread = threading.Thread(target=self._look, args=(read,), name="civicfacts-replica-lag", daemon=True)
            thread.start()
            # Usually a look takes a millisecond, and this request gets its answer; a database
            # that does not answer costs the request a fraction of a second, not a timeout.
            thread.join(LOOK_WAIT_SECONDS)
        return self.lag

    def _look(self, read):
        try:
            self.measure(read)
        except Exception:  # noqa: BLE001 - a look that fails says nothing; requests go on
            log.exception("looking at the replica's lag failed")
            with self.lock:
                self.checked_at, self.lag = self.clock(), None
        finally:
            self.looking = False


def lagging_problem(environ, start_response, lag, max_lag):
    detail = f"This server's replica is {lag:.1f} s behind its primary (at most {max_lag:g} s allowed); try again shortly."
    body = orjson.dumps(problem_body(503, detail, environ.get("PATH_INFO", "")))
    response = Response(body, status=503, mimetype=PROBLEM_JSON, headers={"Retry-After": RETRY_AFTER_SECONDS})
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response(environ, start_response)


class LagGuard:
    """WSGI: refuse every request but the health check while the replica lags past the bound."""

    def __init__(self, app, database, monitor):
        self.app, self.database, self.monitor = app, database, monitor

    def read(self):
        # The app's own database, not the shared proxy: this runs beside the requests.
        try:
            with self.database.connection_context():
                return status(self.database, logged=False)
        except (DatabaseError, InterfaceError, ValueError):  # ValueError: the pool is exhausted
            return None

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != HEALTH_PATH:
            lag = self.monitor.recent_lag(self.read)
            if self.monitor.too_far_behind(lag):
                return lagging_problem(environ, start_response, lag, self.monitor.max_lag)
        return self.app(environ, start_response)


def init_app(app, database):
    """Keep this process's view of the replication; on PostgreSQL with a bound, refuse while
    past it. Installed outside the response cache, so that a cached answer is refused too."""
    monitor = LagMonitor(float(app.config.get("MAX_REPLICA_LAG") or 0))
    app.extensions[EXTENSION] = monitor
    if is_postgres(database) and monitor.max_lag is not None:
        app.wsgi_app = LagGuard(app.wsgi_app, database, monitor)


def database_state():
    """For GET /v1 and /v1/health: the database's role and lag, read in this request, and
    whether the lag is past the bound. A replica's lag changes by the second, so what reports
    it is not kept by the response cache."""
    monitor = current_app.extensions[EXTENSION]
    replication, lag = monitor.measure(lambda: status(db))
    if replication.replica:
        g.not_cacheable = True
    return monitor.describe(replication, lag), monitor.too_far_behind(lag)
