"""Configuration: the only module that reads the environment.

Every limit that protects the service is in LIMITS, once: its setting, its environment
variable, its default and why that default. README.md ("Limits") shows the same table, and
tests/test_abuse.py checks that it does and tests the edge of each.
"""

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///civicfacts.db"


@dataclass(frozen=True)
class Limit:
    key: str  # the app.config key
    variable: str  # the environment variable that sets it
    default: int
    unit: str
    why: str


MiB = 1 << 20
LIMITS = (
    Limit("MAX_CONTENT_LENGTH", "CIVICFACTS_MAX_BODY_BYTES", 1024, "bytes",
          "The API reads no request body: one declared larger is refused (413) before any other work, cached or not."),
    Limit("MAX_QUERY_STRING", "CIVICFACTS_MAX_QUERY_STRING_BYTES", 4096, "bytes",
          "Every filter and a cursor fit many times over; a longer query string is refused (414) before it is parsed."),
    Limit("QUERY_TIMEOUT_MS", "CIVICFACTS_QUERY_TIMEOUT_MS", 5000, "ms",
          "A query running longer is cut off and answered 503, rather than left to hold a worker; 0: no limit."),
    Limit("DATABASE_POOL_SIZE", "CIVICFACTS_DB_POOL_SIZE", 16, "connections",
          "Connections per process (one per serving thread suffices); keep servers × workers × this under PostgreSQL's max_connections."),
    Limit("RESPONSE_CACHE_BYTES", "CIVICFACTS_RESPONSE_CACHE_BYTES", 64 * MiB, "bytes",
          "Responses kept in memory per process, keys counted with them; least recently used go first; 0 turns the cache off."),
    Limit("RESPONSE_CACHE_ENTRY_BYTES", "CIVICFACTS_RESPONSE_CACHE_ENTRY_BYTES", 4 * MiB, "bytes",
          "The largest response kept in memory: a bigger CSV export goes to the disk store instead."),
    Limit("EXPORT_CACHE_BYTES", "CIVICFACTS_EXPORT_CACHE_BYTES", 1024 * MiB, "bytes",
          "Big CSV exports kept on disk per machine; nothing is written while the disk has less than twice this free; 0 turns it off."),
    Limit("SEED_MAX_BYTES", "CIVICFACTS_SEED_MAX_BYTES", 1 * MiB, "bytes",
          "A seed file or page larger is refused unread (the largest real one is under 30 kB): a load never parses for minutes."),
)  # fmt: skip


def limits_from_environment():
    return {limit.key: int(os.environ.get(limit.variable, str(limit.default))) for limit in LIMITS}


def limit_default(key):
    return next(limit.default for limit in LIMITS if limit.key == key)


def from_environment():
    """Settings taken from the environment, with defaults for a newcomer's machine."""
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        "SEEDS_DIR": os.environ.get("CIVICFACTS_SEEDS", "seeds"),
        # e.g. "120/minute" per client IP; unset (the default) turns rate limiting off.
        "RATE_LIMIT": os.environ.get("CIVICFACTS_RATE_LIMIT") or None,
        "RATE_LIMIT_STORAGE": os.environ.get("CIVICFACTS_RATE_LIMIT_STORAGE", "memory://"),
        # How many proxies in front of the app set X-Forwarded-For (0: trust no header).
        "TRUSTED_PROXIES": int(os.environ.get("CIVICFACTS_TRUSTED_PROXIES", "0")),
        **limits_from_environment(),
        # Where big exports are kept; unset: a folder in the system's temp dir.
        "EXPORTS_DIR": os.environ.get("CIVICFACTS_EXPORTS_DIR") or None,
        # Seconds a replica may lag its primary before this server answers 503 (api/web/replication.py); 0: no bound.
        "MAX_REPLICA_LAG": float(os.environ.get("CIVICFACTS_MAX_REPLICA_LAG", "30")),
        "CURSOR_SECRET": os.environ.get("CIVICFACTS_CURSOR_SECRET", "civicfacts-cursor"),
    }


def debug_requested():
    """CIVICFACTS_DEBUG=1 (like `--debug`): the command shows a mistake's traceback, not one line."""
    return os.environ.get("CIVICFACTS_DEBUG", "") not in ("", "0")
