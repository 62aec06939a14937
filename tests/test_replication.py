"""What an app server says of its database's replication (api/web/replication.py), without a
replica: the lag arithmetic, and what a primary (or SQLite) reports. tests/cluster/ proves it on
a real primary and hot standby."""

import threading
import time

import pytest

from api.query.replication import PRIMARY, Replication
from api.web.replication import LagMonitor


def test_a_primary_has_no_lag_and_is_never_refused():
    monitor = LagMonitor(5)
    lag, _ = monitor.observe(PRIMARY)
    assert lag is None and not monitor.too_far_behind(lag)
    assert monitor.describe(PRIMARY, lag) == {"role": "primary", "caught_up": True, "lag_seconds": None, "max_lag_seconds": 5}


def test_a_caught_up_replica_has_no_lag_however_old_its_last_replayed_commit():
    # Nothing written for an hour: the replay timestamp is an hour old, but nothing is waiting.
    monitor = LagMonitor(5)
    lag, _ = monitor.observe(Replication(replica=True, received=100, replayed=100, replay_age=3600.0))
    assert lag == 0.0 and not monitor.too_far_behind(lag)
    # Streaming starts again at a segment's beginning after a restart: behind the replay position.
    assert monitor.observe(Replication(replica=True, received=0, replayed=100, replay_age=3600.0))[0] == 0.0


def monitor_at(*times):
    """A monitor with a bound of 5 s whose clock reads `times`, one a look, and which does not sleep."""
    ticks = iter(times)
    return LagMonitor(5, clock=lambda: next(ticks), sleep=lambda seconds: None)


def test_a_replica_behind_is_behind_by_at_most_the_time_since_it_had_what_it_has_replayed():
    monitor = monitor_at(100.0, 101.0, 102.0, 110.0)
    assert monitor.observe(Replication(replica=True, received=10, replayed=10, replay_age=3600.0)) == (0.0, False)
    # WAL arrives, replay trails it: behind by at most the time since it was caught up.
    assert monitor.observe(Replication(replica=True, received=20, replayed=15, replay_age=3600.0)) == (pytest.approx(1.0), False)
    # It has replayed what it had received at 101 (20), though more came meanwhile: 1 s behind.
    assert monitor.observe(Replication(replica=True, received=30, replayed=25, replay_age=3600.0))[0] == pytest.approx(1.0)
    # And replays nothing more for 8 s: 9 s since it had what it has replayed, past the bound.
    lag, _ = monitor.observe(Replication(replica=True, received=40, replayed=25, replay_age=3600.0))
    assert lag == pytest.approx(9.0) and monitor.too_far_behind(lag)


def test_after_a_quiet_spell_a_first_look_behind_looks_again_before_refusing():
    monitor = monitor_at(100.0, 500.0, 500.1)
    monitor.observe(Replication(replica=True, received=10, replayed=10, replay_age=1.0))
    looks = iter(
        [Replication(replica=True, received=20, replayed=12, replay_age=400.0), Replication(replica=True, received=20, replayed=20, replay_age=0.0)]
    )
    replication, lag = monitor.measure(lambda: next(looks))
    assert replication.caught_up and lag == 0.0


def test_a_replica_that_stays_behind_is_refused_after_the_second_look():
    monitor = monitor_at(100.0, 500.0, 500.1)
    monitor.observe(Replication(replica=True, received=10, replayed=10, replay_age=1.0))
    _, lag = monitor.measure(lambda: Replication(replica=True, received=20, replayed=12, replay_age=60.0))
    assert lag == pytest.approx(60.0) and monitor.too_far_behind(lag)


def test_a_replica_that_has_received_nothing_cannot_tell_and_is_served():
    monitor = LagMonitor(5)
    lag, _ = monitor.observe(Replication(replica=True, received=None, replayed=100, replay_age=600.0))
    assert lag is None and not monitor.too_far_behind(lag)


def test_no_bound_means_never_refused():
    monitor = LagMonitor(0)
    assert monitor.max_lag is None and not monitor.too_far_behind(10_000.0)


def test_index_and_health_say_the_database_is_a_primary(client):
    index = client.get("/v1").get_json()["data"]
    assert index["database"]["role"] == "primary" and index["database"]["lag_seconds"] is None
    assert index["links"]["health"].endswith("/v1/health")
    health = client.get("/v1/health")
    assert health.status_code == 200
    assert health.get_json()["data"]["status"] == "ok"
    assert health.get_json()["data"]["dataset"]["version"] == index["dataset"]["version"]


def test_the_guard_looks_in_a_thread_of_its_own_and_answers_from_the_last_look():
    monitor = LagMonitor(5)
    started, release = threading.Event(), threading.Event()

    def slow_read():  # a database that takes its time to answer
        started.set()
        release.wait(5)
        return Replication(replica=True, received=20, replayed=10, replay_age=60.0)

    assert monitor.recent_lag(slow_read) is None  # no look yet: served, not kept waiting
    assert started.wait(5)
    assert monitor.recent_lag(slow_read) is None  # one look at a time
    release.set()
    deadline = time.monotonic() + 5
    while monitor.looking and time.monotonic() < deadline:
        release.wait(0.01)
    assert monitor.too_far_behind(monitor.recent_lag(slow_read))
