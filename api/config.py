"""Configuration: the only module that reads the environment."""

import os

DEFAULT_DATABASE_URL = "sqlite:///civicfacts.db"


def from_environment():
    """Settings taken from the environment, with defaults for a newcomer's machine."""
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        "SEEDS_DIR": os.environ.get("CIVICFACTS_SEEDS", "seeds"),
    }
