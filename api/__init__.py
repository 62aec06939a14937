"""civicfacts: curated civic facts from Korean local news, served read-only as JSON."""

from flask import Flask

from api import cache, errors, guard, http
from api import config as settings
from api import db as database
from api.db import bind
from api.spec import INFO


def create_app(config=None):
    """The Flask app: defaults from the environment, then the `config` dict given."""
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
    bind(
        app.config["DATABASE_URL"], readonly=True, pool_size=int(app.config.get("DATABASE_POOL_SIZE", 0)),
        statement_timeout_ms=int(app.config.get("QUERY_TIMEOUT_MS", 0)),
    )
    guard.init_app(app)
    http.init_app(app)
    database.init_app(app)
    cache.init_app(app)
    api = errors.CivicApi(app)
    app.extensions["civicfacts_api"] = api
    from api import downloads, explorer
    from api.resources import docs, events, figures, index, organisations, people, places, programmes, sources

    for module in (index, sources, organisations, people, places, events, programmes, figures, downloads, docs, explorer):
        api.register_blueprint(module.blp)
    errors.register(app)
    return app
