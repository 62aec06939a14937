"""Mistakes a user of the `civicfacts` command can make, each explained in one line.

A traceback tells a newcomer where the program was, not what to do; for a mistake they made
(a URL that names no database, a port another program holds, an extra not installed, seeds
not where they were looked for) the command says what is wrong and the command that fixes it,
and exits 1. A real bug still ends in its traceback, and so does everything with `--debug`.
"""

from peewee import InterfaceError, OperationalError

from api.store.urls import DatabaseUrlError

# Optional extras, by the module a command imports: what installs it.
EXTRAS = {"gunicorn": "gunicorn"}


class Refusal(Exception):
    """A mistake the command has already put into words: the message is what to print."""


def explain(error):
    """The one line that explains `error` to the person who typed the command, or None if it
    is not a mistake of theirs (then the traceback is the right answer)."""
    if isinstance(error, Refusal | DatabaseUrlError):
        return str(error)
    if isinstance(error, ModuleNotFoundError) and error.name in EXTRAS:
        extra = EXTRAS[error.name]
        return f"{error.name} is not installed: `pip install 'civicfacts[{extra}]'` (from a clone: `.venv/bin/pip install -e '.[{extra}]'`)"
    if isinstance(error, OperationalError | InterfaceError):
        # The database's state, not the program's: locked by another load, a full disk, a
        # connection lost. An IntegrityError or a ProgrammingError is a bug: its traceback stays.
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"the database refused: {first}"
    return None


EXPLAINED = (Refusal, DatabaseUrlError, ModuleNotFoundError, OperationalError, InterfaceError)
