"""civicfacts: curated civic facts from Korean local news, served read-only as JSON."""

from flask import Flask

from api import config as settings
from api.formats.about import INFO
from api.store.db import open_database
from api.web import downloads, errors, explorer, guard, openapi, rate_limit, replication, response_cache, responses, transactions
from api.web.resources import COLLECTIONS, changes, docs, health, index


def create_app(config=None):
    """The Flask app: defaults from the environment, then the `config` dict given.

    Inside Flask, hooks run in the order they are installed: the guard (rate limit refusal,
    body size, query string) before any database work; responses (JSON encoding, negotiation,
    ETags, CORS); the request's read-only transaction. Then the API (flask-smorest) registers
    the blueprints and documents them, and the error handlers come last, so that every error,
    whoever raises it, leaves as problem+json.

    Around Flask, WSGI layers wrap from the inside out, so a request meets them in the reverse
    order: ProxyFix (outermost: every layer inside sees the client's real address, scheme and
    host), then the rate limit (every routed request counts, cached or not), then, on a replica,
    the lag guard (503 while it lags past its bound, cached answers too), then the response
    cache (a hit skips everything inside it).
    """
    # No static folder: Flask's /static/<path> would be a route outside the contract.
    app = Flask(__name__, static_folder=None)
    app.config.update(settings.from_environment())
    app.config.update(
        API_TITLE="civicfacts",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.1.0",
        # Nothing asks for credentials: said explicitly, so that linters and generators need not guess.
        API_SPEC_OPTIONS={"info": INFO, "servers": [{"url": "/"}], "security": []},
    )
    app.config.update(config or {})
    app.config["CURSOR_SECRET"] = str(app.config.get("CURSOR_SECRET", "civicfacts-cursor")).encode()
    app.url_map.strict_slashes = True
    database = open_database(
        app.config["DATABASE_URL"],
        readonly=True,
        pool_size=int(app.config.get("DATABASE_POOL_SIZE", 0)),
        statement_timeout_ms=int(app.config.get("QUERY_TIMEOUT_MS", 0)),
    )
    guard.init_app(app)
    responses.init_app(app)
    transactions.init_app(app, database)
    response_cache.init_app(app)
    replication.init_app(app, database)
    rate_limit.wrap(app)
    guard.trust_proxies(app)
    api = openapi.CivicApi(app)
    app.extensions["civicfacts_api"] = api
    for blueprint in (index.blp, *(c.blueprint for c in COLLECTIONS.values()), changes.blp, health.blp, downloads.blp, docs.blp, explorer.blp):
        api.register_blueprint(blueprint)
    errors.register(app)
    return app
