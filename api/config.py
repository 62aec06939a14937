"""Configuration: the only module that reads the environment."""

import os

DEFAULT_DATABASE_URL = "sqlite:///civicfacts.db"


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
        # The API reads no request body: a declared one larger than this is refused with 413.
        "MAX_CONTENT_LENGTH": int(os.environ.get("CIVICFACTS_MAX_BODY_BYTES", "1024")),
        "QUERY_TIMEOUT_MS": int(os.environ.get("CIVICFACTS_QUERY_TIMEOUT_MS", "5000")),
        # Connections kept open per process between requests; 0 opens one per request.
        "DATABASE_POOL_SIZE": int(os.environ.get("CIVICFACTS_DB_POOL_SIZE", "16")),
        # Bytes of responses kept per process, per dataset version (api/cache.py); 0 turns it off.
        "RESPONSE_CACHE_BYTES": int(os.environ.get("CIVICFACTS_RESPONSE_CACHE_BYTES", str(64 << 20))),
        # Bytes of big CSV exports kept on disk per machine, per dataset version; 0 turns it off.
        "EXPORT_CACHE_BYTES": int(os.environ.get("CIVICFACTS_EXPORT_CACHE_BYTES", str(1 << 30))),
        # Where they are kept; unset: a folder in the system's temp dir.
        "EXPORTS_DIR": os.environ.get("CIVICFACTS_EXPORTS_DIR") or None,
        # Seconds a replica may lag its primary before this server answers 503 (api/web/replication.py); 0: no bound.
        "MAX_REPLICA_LAG": float(os.environ.get("CIVICFACTS_MAX_REPLICA_LAG", "30")),
        # A seed file larger than this is refused unread (the largest real one is under 30 kB).
        "SEED_MAX_BYTES": int(os.environ.get("CIVICFACTS_SEED_MAX_BYTES", str(1 << 20))),
        "CURSOR_SECRET": os.environ.get("CIVICFACTS_CURSOR_SECRET", "civicfacts-cursor"),
    }


def debug_requested():
    """CIVICFACTS_DEBUG=1 (like `--debug`): the command shows a mistake's traceback, not one line."""
    return os.environ.get("CIVICFACTS_DEBUG", "") not in ("", "0")
