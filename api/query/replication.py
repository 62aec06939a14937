"""Whether the database is a hot standby, and how far behind its primary it is.

A standby's `pg_last_xact_replay_timestamp()` is the commit time of the last transaction it
replayed, so while nothing is written on the primary, now minus it grows though the standby
is in sync. A standby that has replayed all the WAL it received (the replay position is at
or past the receive one, which starts again at the beginning of a WAL segment when streaming
restarts) is caught up, whatever that timestamp says; only one that has WAL left to
replay is behind, by at most the time since that last replayed commit. A standby that has
received nothing since it started (its primary is down) cannot tell: it says so (None), and
is served from rather than refused, since its primary cannot answer either.
"""

from typing import NamedTuple

from peewee import DatabaseProxy

from api.store.db import is_postgres

STATUS_SQL = (
    "SELECT pg_is_in_recovery(), "
    "pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn(), "
    "EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8"
)


class Replication(NamedTuple):
    replica: bool  # a hot standby (pg_is_in_recovery)
    caught_up: bool | None  # it has replayed all it received (a primary is); None: it has received nothing
    replay_age: float | None  # seconds since the last commit it replayed; None if none yet


PRIMARY = Replication(replica=False, caught_up=True, replay_age=None)


def status(database):
    """Where `database` stands: a primary (SQLite is one), or a replica and how far it has replayed."""
    if not is_postgres(database.obj if isinstance(database, DatabaseProxy) else database):
        return PRIMARY
    replica, caught_up, replay_age = database.execute_sql(STATUS_SQL).fetchone()
    if not replica:
        return PRIMARY
    return Replication(replica=True, caught_up=caught_up, replay_age=replay_age)
