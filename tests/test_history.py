"""Every load is a version: the change feed, a record's history, changed_since, 410 for a
removed record, /v1/versions, and a load that changes nothing makes no version. A load that
writes only what changed serves exactly what a fresh load of the same seeds serves, and a
mirror built from the feed alone equals a full download. On SQLite and PostgreSQL."""

import copy
import dataclasses
from decimal import Decimal

import pytest

from api.ingest.load import load
from api.store import models as m
from api.store.db import open_database
from tests.support import create_postgres_database, drop_postgres_database, make_app, migrate

pytestmark = pytest.mark.slow

COLLECTIONS = list(m.RECORD_MODELS)
CHANGED = "kimjang-festival-2023-participants"  # a figure no other figure adds up or compares


def referenced(seeds):
    """Every id some record or extra citation names."""
    found = {c["record"] for _, _, c in seeds.citations} | {c["source"] for _, _, c in seeds.citations}

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and node in seeds.entries:
            found.add(node)

    for entry in seeds.entries.values():
        walk({key: value for key, value in entry.data.items() if key != "id"})
    return found


def version_b(a):
    """Seeds A with a figure's value changed, a figure nothing names removed, one added."""
    b = copy.deepcopy(a)
    figure = b.entries[CHANGED].data
    figure.update(value=Decimal(13000), value_text="1만3000여명")
    removable = next(i for i, e in b.entries.items() if e.section == "figures" and i not in referenced(b) and i != CHANGED)
    del b.entries[removable]
    b.checks = [(figure_id, result) for figure_id, result in b.checks if figure_id != removable]
    added = copy.deepcopy(b.entries[CHANGED])
    added.data.update(id="kimjang-festival-2023-volunteers", value=Decimal(500), value_text="500여명")
    added.data["name"] = {"ko": "자원봉사자", "en": "Volunteers", "en_translated": True}
    b.entries[added.data["id"]] = added
    return dataclasses.replace(b, version="b-version"), removable


def version_c(b):
    """Seeds B with a note changed on an event and the added figure removed again."""
    c = copy.deepcopy(b)
    c.entries["kimjang-festival-2023"].data["note"] = "Corrected: the festival ran 19 days."
    del c.entries["kimjang-festival-2023-volunteers"]
    return dataclasses.replace(c, version="c-version")


def load_into(url, seeds):
    database = open_database(url)
    with database.bind_ctx(m.ALL_MODELS):
        dataset = load(seeds, database)
    database.close()
    return dataset


def everything(client):
    """{(type, id): record} as the lists serve them: a full download."""
    out = {}
    for collection in COLLECTIONS:
        body = client.get(f"/v1/{collection}?limit=500").get_json()
        assert body["links"]["next"] is None
        out.update({(record["type"], record["id"]): record for record in body["data"]})
    return out


def counted(url):
    """Every total counted at load (and a whole collection's CSV bytes), by (collection, filter, value),
    and every running total by day, by (collection, filter, value, day)."""
    database = open_database(url)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        found = {(c.collection, c.filter, c.value): (c.total, c.csv_bytes) for c in m.ListCount.select()}
        found.update({(d.collection, d.filter, d.value, d.day): (d.first_upto, d.last_upto) for d in m.DayCount.select()})
    database.close()
    return found


def feed(client, since=None):
    """Every entry of the change feed after `since`, following its pages."""
    url, entries = "/v1/changes?limit=3" + (f"&since={since}" if since else ""), []
    while url:
        body = client.get(url).get_json()
        entries += body["data"]
        url = body["links"]["next"]
    return entries


@pytest.fixture
def history(loaded, seed_set):
    """A (on the loaded template), then B: the client, the removed figure's id, and the versions."""
    first = m.Dataset  # the template's version, as loaded
    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        a = first.select().order_by(first.id.desc()).get().version
    database.close()
    b, removed = version_b(seed_set)
    load_into(loaded, b)
    app = make_app(loaded)
    return app.test_client(), removed, a, b


def test_the_feed_says_what_a_load_added_changed_and_removed(history):
    client, removed, a, _ = history
    entries = feed(client, since=a)
    by_kind = {}
    for entry in entries:
        by_kind.setdefault(entry["kind"], []).append(entry)
        assert entry["dataset_version"] == "b-version" and entry["collection"] == m.TYPE_COLLECTIONS[entry["type"]]
    changed = {e["id"]: e for e in by_kind["changed"]}
    assert changed[CHANGED]["changes"] == [
        {"field": "value", "old": 12000, "new": 13000},
        {"field": "value_text", "old": "1만2000여명", "new": "1만3000여명"},
    ]
    assert [e["id"] for e in by_kind["added"]] == ["kimjang-festival-2023-volunteers"]
    assert by_kind["added"][0]["record"]["value"] == 500 and by_kind["added"][0]["changes"] is None
    assert [e["id"] for e in by_kind["removed"]] == [removed] and by_kind["removed"][0]["was"]["id"] == removed
    # The records whose own documents list the added and removed figures changed too, and say so.
    assert all(e["changes"] for e in by_kind["changed"])
    assert client.get(f"/v1/changes?since={a}&kind=removed&collection=figures").get_json()["meta"]["total"] == 1


def test_a_record_answers_its_history_and_a_removed_one_410_with_a_link_to_it(history):
    client, removed, a, _ = history
    changes = client.get(f"/v1/figures/{CHANGED}/history").get_json()["data"]
    assert [(c["dataset_version"], c["kind"]) for c in changes] == [("b-version", "changed"), (a, "added")]  # newest first
    gone = client.get(f"/v1/figures/{removed}")
    assert gone.status_code == 410 and gone.mimetype == "application/problem+json"
    link = gone.get_json()["links"]["history"]
    assert link.endswith(f"/v1/figures/{removed}/history") and f'<{link}>; rel="history"' == gone.headers["Link"]
    was = client.get(link).get_json()["data"]
    assert [c["kind"] for c in was] == ["removed", "added"] and was[0]["was"]["id"] == removed
    assert client.get("/v1/figures/never-was-a-figure").status_code == 404
    assert client.get("/v1/figures/never-was-a-figure/history").status_code == 404


def test_changed_since_lists_only_what_changed_after_that_version(history):
    client, removed, a, _ = history
    since = client.get(f"/v1/figures?changed_since={a}&limit=500").get_json()
    ids = {r["id"] for r in since["data"]}
    assert {CHANGED, "kimjang-festival-2023-volunteers"} <= ids and removed not in ids
    assert len(ids) < len(client.get("/v1/figures?limit=500").get_json()["data"])
    assert client.get("/v1/figures?changed_since=b-version").get_json()["data"] == []
    unknown = client.get("/v1/figures?changed_since=no-such-version")
    assert unknown.status_code == 400 and unknown.get_json()["errors"][0]["parameter"] == "changed_since"
    assert client.get("/v1/changes?since=no-such-version").get_json()["errors"][0]["parameter"] == "since"


def test_versions_list_every_load_that_changed_something_and_loading_again_makes_none(history, loaded, seed_set):
    client, _, a, b = history
    versions = client.get("/v1/versions").get_json()["data"]
    assert [v["version"] for v in versions] == ["b-version", a] and [v["current"] for v in versions] == [True, False]
    assert versions[0]["added"] == 1 and versions[0]["removed"] == 1 and versions[0]["counts"]["figures"] == versions[1]["counts"]["figures"]
    assert client.get("/v1").get_json()["data"]["dataset"]["version"] == "b-version"
    again = load_into(loaded, b)
    assert again.version == "b-version"
    assert [v["version"] for v in client.get("/v1/versions").get_json()["data"]] == ["b-version", a]  # no new version
    back = load_into(loaded, seed_set)  # back to A's seeds: a new version, named after them
    assert back.version == f"{a}-2"


def test_a_load_that_writes_only_what_changed_serves_what_a_fresh_load_serves(history, backend, seed_set, tmp_path, request):
    client, *_ = history
    b, _ = version_b(seed_set)
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/fresh.db"
    else:
        server = request.getfixturevalue("postgres_server_url")
        url = create_postgres_database(server)
    try:
        migrate(url).close()
        load_into(url, b)
        fresh = make_app(url).test_client()
        assert everything(client) == everything(fresh)
        assert counted(client.application.config["DATABASE_URL"]) == counted(url)  # totals brought up to date = counted afresh
        for path in ("/v1/units", "/v1/search?q=김장&limit=500", "/v1/figures?unit=person&limit=500", "/v1/figures?format=csv"):
            assert client.get(path).get_data().replace(b"b-version", b"") == fresh.get(path).get_data().replace(b"b-version", b""), path
    finally:
        if backend == "postgres":
            drop_postgres_database(request.getfixturevalue("postgres_server_url"), url)


def test_a_mirror_built_from_the_feed_alone_equals_a_full_download_after_three_loads(history, loaded, seed_set):
    client, _, a, _ = history
    mirror, last = {}, None

    def catch_up():
        nonlocal last
        for entry in feed(client, since=last):
            key = (entry["type"], entry["id"])
            if entry["kind"] == "added":
                mirror[key] = entry["record"]
            elif entry["kind"] == "changed":
                for change in entry["changes"]:
                    assert mirror[key][change["field"]] == change["old"]  # the feed's old value is the mirror's
                    mirror[key][change["field"]] = change["new"]
            else:
                del mirror[key]
        last = client.get("/v1").get_json()["data"]["dataset"]["version"]

    catch_up()  # A and B
    assert mirror == everything(client)
    b, _ = version_b(seed_set)
    load_into(loaded, version_c(b))
    catch_up()
    assert mirror == everything(client) and last == "c-version"
    catch_up()  # nothing new: nothing changes
    assert mirror == everything(client)


def test_the_explorer_shows_corrections_and_each_record_s_history(history):
    from tests.html_page import parse

    client, removed, a, _ = history
    corrections = client.get("/explore/corrections")
    assert corrections.status_code == 200 and corrections.mimetype == "text/html"
    page = parse(corrections.get_data(as_text=True))
    listing = page.find("ol", class_="history")
    items = [child for child in listing.children if getattr(child, "tag", None) == "li"]
    about = {item.find("p").find("a").attrs["href"]: item for item in items}  # each item names its record first
    table = about[f"/explore/figures/{CHANGED}"].find("table")
    cells = [[cell.text().strip() for cell in row.find_all("td")] for row in table.find("tbody").find_all("tr")]
    assert ["12,000", "13,000"] in cells and ["1만2000여명", "1만3000여명"] in cells  # before and after, side by side
    record = parse(client.get(f"/explore/figures/{CHANGED}").get_data(as_text=True))
    history_section = record.find("section", aria_labelledby="h-history")
    assert "b-version" in history_section.text() and a in history_section.text()
    assert client.get(f"/explore/figures/{removed}").status_code == 404  # the explorer shows what is; the API's 410 says why
