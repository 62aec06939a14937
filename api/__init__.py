"""civicfacts: curated civic facts from Korean local news, served read-only as JSON."""

from flask import Flask

from api import config as settings
from api.db import bind


def create_app(config=None):
    """The Flask app: defaults from the environment, then the `config` dict given."""
    app = Flask(__name__)
    app.config.update(settings.from_environment())
    app.config.update(config or {})
    bind(app.config["DATABASE_URL"])
    return app
