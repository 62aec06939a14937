"""What an app server says of its database's replication (api/web/replication.py), without a
replica: the lag arithmetic, and what a primary (or SQLite) reports. tests/cluster/ proves it on
a real primary and hot standby."""

import pytest

from api.query.replication import PRIMARY, Replication
from api.web.replication import LagMonitor


def test_a_primary_has_no_lag_and_is_never_refused():
    monitor = LagMonitor(5)
    lag = monitor.observe(PRIMARY)
    assert lag is None and not monitor.too_far_behind(lag)
    assert monitor.describe(PRIMARY, lag) == {"role": "primary", "caught_up": True, "lag_seconds": None, "max_lag_seconds": 5}


def test_a_caught_up_replica_has_no_lag_however_old_its_last_replayed_commit():
    # Nothing written for an hour: the replay timestamp is an hour old, but nothing is waiting.
    monitor = LagMonitor(5)
    lag = monitor.observe(Replication(replica=True, caught_up=True, replay_age=3600.0))
    assert lag == 0.0 and not monitor.too_far_behind(lag)


def test_a_replica_behind_is_as_far_behind_as_its_last_replayed_commit_or_its_last_catch_up(monkeypatch):
    clock = iter([100.0, 102.0, 200.0])
    monkeypatch.setattr("api.web.replication.time.monotonic", lambda: next(clock))
    monitor = LagMonitor(5)
    # Never seen caught up: the last replayed commit's age is all it knows.
    assert monitor.observe(Replication(replica=True, caught_up=False, replay_age=3600.0)) == 3600.0
    monitor.caught_up_at = 99.0
    # Caught up 3 s ago: at most 3 s behind, though the last commit it replayed is an hour old.
    assert monitor.observe(Replication(replica=True, caught_up=False, replay_age=3600.0)) == pytest.approx(3.0)
    lag = monitor.observe(Replication(replica=True, caught_up=False, replay_age=50.0))
    assert lag == 50.0 and monitor.too_far_behind(lag)


def test_a_replica_that_has_received_nothing_cannot_tell_and_is_served():
    monitor = LagMonitor(5)
    lag = monitor.observe(Replication(replica=True, caught_up=None, replay_age=600.0))
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
