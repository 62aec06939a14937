"""Database URLs: which ones the app can open, and how to show one without its password.

A URL is checked before peewee sees it, because peewee's own refusals are tracebacks that do
not say what to write instead (`civicfacts.db` is "Unrecognized or unsupported scheme",
`mysql://...` an AttributeError from a driver that is not installed).
"""

import pathlib
from urllib.parse import urlsplit

from playhouse.db_url import parse

SQLITE_SCHEMES = ("sqlite",)
POSTGRES_SCHEMES = ("postgres", "postgresql")
EXAMPLES = "sqlite:///civicfacts.db or postgresql://user@host:5432/name"


class DatabaseUrlError(ValueError):
    """A database URL the app cannot open; the message says what to write instead."""


def scheme_of(url):
    return url.partition("://")[0] if "://" in url else ""


def is_sqlite_url(url):
    return scheme_of(url) in SQLITE_SCHEMES


def sqlite_file(url):
    """The file a sqlite:/// URL names (None for an in-memory database)."""
    path = parse(url)["database"]
    return None if path in ("", ":memory:") else pathlib.Path(path)


def check_url(url):
    """Refuse, saying what to write instead, a URL that names no database the app can open:
    no scheme, a scheme it has no driver for, a SQLite file in a folder that does not exist."""
    scheme = scheme_of(url)
    if not scheme:
        hint = f"sqlite:///{url}" if url.endswith((".db", ".sqlite", ".sqlite3")) else EXAMPLES
        raise DatabaseUrlError(f"{url!r} is not a database URL: write {hint}")
    if scheme not in SQLITE_SCHEMES + POSTGRES_SCHEMES:
        raise DatabaseUrlError(f"{scheme}:// databases are not supported: use {EXAMPLES}")
    if scheme in SQLITE_SCHEMES:
        path = sqlite_file(url)
        if path is not None and not path.parent.is_dir():
            raise DatabaseUrlError(f"the folder {path.parent} does not exist: `mkdir -p {path.parent}`, or choose another path for {path.name}")


def redacted(url):
    """`url` with its password, if any, shown as ***: fit for a log or a screen."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user.partition(':')[0]}:***@{host}").geturl()


def described(url):
    """The URL without its password and, for a SQLite file, the file's full path (a relative
    one lands in whichever folder the command runs from)."""
    shown = redacted(url)
    path = sqlite_file(url) if is_sqlite_url(url) else None
    if path is not None and not path.is_absolute():
        shown += f" ({path.resolve()})"
    return shown
