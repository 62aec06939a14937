"""civicfacts: curated civic facts from Korean local news, served read-only as JSON."""

from flask import Flask

from api import config as settings
from api.formats.about import INFO
from api.store.db import open_database
from api.web import downloads, errors, explorer, guard, openapi, response_cache, responses, transactions
from api.web.resources import COLLECTIONS, docs, index


def create_app(config=None):
    """The Flask app: defaults from the environment, then the `config` dict given.

    The order below is the order requests meet things in, and it matters:
    1. the guard (query string, body size, rate limit) runs first, before any database work;
    2. responses (JSON encoding, content negotiation, ETags, CORS) shape every answer;
    3. the request's read-only transaction opens (and the app's database is bound);
    4. the response cache wraps the WSGI app last, so it sits outermost (after ProxyFix, which
       the guard may install) and a hit skips everything inside it;
    5. the API (flask-smorest) registers the blueprints and documents them, then the error
       handlers, so that every error, whoever raises it, leaves as problem+json.
    """
    # No static folder: Flask's /static/<path> would be a route outside the contract.
    app = Flask(__name__, static_folder=None)
    app.config.update(settings.from_environment())
    app.config.update(
        API_TITLE="civicfacts",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.1.0",
        API_SPEC_OPTIONS={"info": INFO, "servers": [{"url": "/"}]},
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
    api = openapi.CivicApi(app)
    app.extensions["civicfacts_api"] = api
    for blueprint in (index.blp, *(c.blueprint for c in COLLECTIONS.values()), downloads.blp, docs.blp, explorer.blp):
        api.register_blueprint(blueprint)
    errors.register(app)
    return app
