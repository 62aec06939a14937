"""Whether the database is a hot standby, and where its replay stands.

A standby's `pg_last_xact_replay_timestamp()` is the commit time of the last transaction it
replayed, so while nothing is written on the primary, now minus it grows though the standby
is in sync. What says whether it is behind is the WAL: one that has replayed all it received
(the replay position at or past the receive one, which starts again at the beginning of a
WAL segment when streaming restarts) is caught up, whatever that timestamp says; one with WAL
left to replay is behind, and api/web/replication.py estimates by how much from how soon it
replays what it had received. A standby that has received nothing since it started (its
primary is down) cannot tell: it says so, and is served from rather than refused, since its
primary cannot answer either.
"""

from typing import NamedTuple

from peewee import DatabaseProxy

from api.store.db import is_postgres

STATUS_SQL = (
    "SELECT pg_is_in_recovery(), "
    "pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::bigint, "
    "pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint, "
    "EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8"
)


class Replication(NamedTuple):
    replica: bool  # a hot standby (pg_is_in_recovery)
    received: int | None = None  # WAL position received (bytes); None: nothing since it started
    replayed: int | None = None  # WAL position replayed
    replay_age: float | None = None  # seconds since the last commit it replayed; None if none yet

    @property
    def caught_up(self):
        """Replayed all it received (a primary always has); None if it has received nothing."""
        if not self.replica:
            return True
        if self.received is None or self.replayed is None:
            return None
        return self.replayed >= self.received


PRIMARY = Replication(replica=False)


def status(database, logged=True):
    """Where `database` stands: a primary (SQLite is one), or a replica and how far it has replayed.

    Not `logged`: the query goes to the driver's cursor directly rather than through peewee's
    log, which is what counts a request's queries; for a look taken beside the requests."""
    if not is_postgres(database.obj if isinstance(database, DatabaseProxy) else database):
        return PRIMARY
    if logged:
        row = database.execute_sql(STATUS_SQL).fetchone()
    else:
        cursor = database.cursor()
        try:
            cursor.execute(STATUS_SQL)
            row = cursor.fetchone()
        finally:
            cursor.close()
    replica, received, replayed, replay_age = row
    if not replica:
        return PRIMARY
    return Replication(replica=True, received=received, replayed=replayed, replay_age=replay_age)
