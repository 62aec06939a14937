"""Reloading under load: while readers hammer the API, new seed versions are loaded.

Readers (threads, against a real HTTP server, on SQLite and PostgreSQL) must never get an
error and never see a mix of two versions; the loads are `civicfacts load` in processes of
their own, as an operator runs them. Version B is the
real seeds without article 7, so every response can be checked for consistency: its
meta.dataset_version names a version, and its rows must be exactly that version's rows.

A client holding a cursor or an ETag from before a reload gets a correct answer: the
cursor continues from its position in the sort order (documented in README.md), and the
old ETag no longer matches, so the new content comes back (200, not a stale 304).
"""

import json
import pathlib
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from werkzeug.serving import make_server

from api import create_app
from api.ingest.read import read_seeds
from tests import reliability
from tests.support import SEEDS

# Real servers and loads in processes of their own.
pytestmark = pytest.mark.slow

READERS = 4
RELOADS = 6


@pytest.fixture
def versions(tmp_path):
    """Two seed folders: A (the real seeds) and B (without the book article), with their SeedSets."""
    b = tmp_path / "seeds-b"
    shutil.copytree(SEEDS, b)
    for path in b.glob("07_*.yaml"):
        path.unlink()
    return (SEEDS, read_seeds(SEEDS)), (b, read_seeds(b))


def reload(url, seeds_dir):
    """Load as an operator would: `civicfacts load`, in a process of its own."""
    cli = pathlib.Path(sys.executable).parent / "civicfacts"
    subprocess.run([cli, "load", "--database", url, seeds_dir], check=True, capture_output=True, timeout=120)


def expected_ids(seeds, section):
    return sorted(e.data["id"] for e in seeds.entries.values() if e.section == section)


@pytest.fixture
def server(migrated):
    app = create_app({"DATABASE_URL": migrated})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_readers_never_see_a_mix_or_an_error_during_reloads(migrated, server, versions):
    (a_dir, a), (b_dir, b) = versions
    seeded = {s.version: {c: expected_ids(s, c) for c in ("figures", "events", "sources", "organisations")} for s in (a, b)}
    # A load back to seeds an earlier version had is a new version named after them: A, B, A-2, B-2, ...
    truth_of = {f"{name}{suffix}": name for name in seeded for suffix in ["", *(f"-{n}" for n in range(2, RELOADS + 2))]}
    truth = {version: seeded[name] for version, name in truth_of.items()}
    reload(migrated, a_dir)

    problems, checked, spanning = [], [], []
    stop = threading.Event()

    def read(collection):
        while not stop.is_set():
            try:
                status, body = fetch(f"{server}/v1/{collection}?limit=500&sort=id")
                version = body["meta"]["dataset_version"]
                ids = [r["id"] for r in body["data"]]
                if status != 200 or ids != truth[version][collection] or body["meta"]["total"] != len(ids):
                    problems.append((collection, version, len(ids), body["meta"]["total"]))
                checked.append(version)
            except Exception as exc:  # noqa: BLE001 - any failure of a reader is the finding
                problems.append((collection, repr(exc)))

    def walk():
        """Page through figures 3 at a time with cursors, across the reloads: each page must be
        whole (its version's rows), and continue exactly after the last row seen, in whichever
        version answers it (the documented stable continuation)."""
        while not stop.is_set():
            url, last, seen = f"{server}/v1/figures?limit=3&sort=id", None, set()
            while url and not stop.is_set():
                try:
                    status, body = fetch(url)
                    version = body["meta"]["dataset_version"]
                    ids = [r["id"] for r in body["data"]]
                    following = [i for i in truth[version]["figures"] if last is None or i > last][:3]
                    if status != 200 or ids != following:
                        problems.append(("walk", version, last, ids, following))
                    checked.append(version)
                    seen.add(version)
                    last, url = (ids[-1] if ids else last), body["links"]["next"]
                except Exception as exc:  # noqa: BLE001 - any failure of a reader is the finding
                    problems.append(("walk", repr(exc)))
                    url = None
            spanning.append(len(seen) > 1)

    readers = [threading.Thread(target=read, args=(c,)) for c in ("figures", "events", "sources", "organisations")[:READERS]] + [
        threading.Thread(target=walk)
    ]
    for thread in readers:
        thread.start()
    try:
        for i in range(RELOADS):
            reload(migrated, b_dir if i % 2 == 0 else a_dir)
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in readers:
            thread.join(timeout=30)
    assert not problems, problems[:5]
    assert {truth_of[v] for v in checked} == {a.version, b.version}, "the readers should have seen both seed sets"
    assert len(set(checked)) > 2, "each load back to earlier seeds is a version of its own"
    assert any(spanning), "some walk should have gone on across a reload"
    what = f"`civicfacts load` runs while {len(readers)} threads read, one of them paging with cursors"
    reliability.count(f"reload|{what}|{reliability.backend_of(migrated)}", RELOADS)
    assert len(checked) >= 20


def test_an_old_cursor_continues_and_an_old_etag_gets_the_new_content(migrated, server, versions):
    (a_dir, a), (b_dir, b) = versions
    reload(migrated, a_dir)
    first = urllib.request.urlopen(f"{server}/v1/events?limit=3&sort=id", timeout=30)
    etag = first.headers["ETag"]
    page = json.loads(first.read())
    reload(migrated, b_dir)

    status, after = fetch(page["links"]["next"])
    seen = [r["id"] for r in page["data"]]
    assert status == 200
    assert after["meta"]["dataset_version"] == b.version
    assert all(r["id"] > seen[-1] for r in after["data"]), "the cursor continues after its position"
    assert [r["id"] for r in after["data"]] == [i for i in expected_ids(b, "events") if i > seen[-1]][:3]

    request = urllib.request.Request(f"{server}/v1/events?limit=3&sort=id", headers={"If-None-Match": etag})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200  # not 304: the representation changed with the dataset
        assert response.headers["ETag"] != etag
