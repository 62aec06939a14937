"""The cluster tests (issue 14) run against a cluster that deploy/cluster started, and stop,
kill and restart its parts: `make cluster && make cluster-test && make cluster-stop`. The plain
`pytest` does not collect them: only with CIVICFACTS_CLUSTER_DIR set (the Makefile sets it)."""

import os
import pathlib
import re

import pytest

from tests.cluster import report
from tests.cluster.harness import Cluster, Versions

HERE = pathlib.Path(__file__).resolve().parent
FOLDER = os.environ.get("CIVICFACTS_CLUSTER_DIR")
if not FOLDER:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def cluster():
    if not (FOLDER and os.path.exists(os.path.join(FOLDER, "cluster.json"))):
        pytest.fail(f"no cluster in CIVICFACTS_CLUSTER_DIR={FOLDER!r}: run `make cluster` first", pytrace=False)
    return Cluster(FOLDER)


@pytest.fixture(scope="session")
def versions(tmp_path_factory):
    return Versions(tmp_path_factory.mktemp("versions"))


@pytest.fixture
def whole(cluster):
    """The cluster with every part running, before the test and after it, whatever it stopped."""
    cluster.start()
    yield cluster
    cluster.start()


PASSED = set()


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed and report.nodeid.startswith("tests/cluster/"):
        PASSED.add(report.nodeid.rpartition("::")[2])


def pytest_sessionfinish(session, exitstatus):
    """Rewrite docs/DEPLOY.md's measured section only after every cluster test ran and passed."""
    tests = set(re.findall(r"^def (test_\w+)", (HERE / "test_cluster.py").read_text(), re.M))
    if FOLDER and exitstatus == 0 and tests and PASSED >= tests:
        report.write()
