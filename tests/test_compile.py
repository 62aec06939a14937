"""What the load compiles (api/ingest/compile.py) is what the API would have made per request:
every record's document is its representation, in its schema's field order; every total
counted at load is what the filter lists; a field the seeds give without a column of its own
reaches the documents; a record's hash follows its content."""

import hashlib

import orjson
import pytest

from api.formats.csv_export import header, line_maker
from api.ingest import compile as api_compile
from api.ingest import load as api_load
from api.ingest.load import load
from api.query.counts import COUNTED_FILTERS
from api.query.documents import BASE_BYTES
from api.query.pagination import page_order
from api.query.records import record_columns, represent
from api.registry import RECORD_TYPES
from api.store import models as m
from api.store.db import open_database
from api.web.resources import COLLECTIONS


def documents_in(url):
    database = open_database(url)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        found = {(d.record_type, d.record_id): d for d in m.Document.select()}
        represented = {}
        for record_type in RECORD_TYPES:
            model = record_type.model
            rows = model.select(*record_columns(model)).order_by(*(key for key, _ in page_order(model))).namedtuples()
            represented[record_type.name] = represent(record_type.name, list(rows))
    database.close()
    return found, represented


def test_every_record_has_one_document_and_it_is_its_representation(shared_url):
    found, represented = documents_in(shared_url)
    assert len(found) == sum(len(records) for records in represented.values())
    for record_type in RECORD_TYPES:
        fields = list(record_type.schema().fields)
        line = line_maker(record_type.schema)
        for record in represented[record_type.name]:
            document = found[(record_type.type, record["id"])]
            body = bytes(document.body)
            assert list(orjson.loads(body)) == fields  # every field of the schema, in its order, and nothing else
            assert orjson.loads(body) == {name: record[name] for name in fields}
            assert bytes(document.csv) == line(record)
            assert document.hash == hashlib.sha256(body).hexdigest()[:32]
            assert BASE_BYTES + b"/v1/" in bytes(document.jsonld)  # links under the placeholder, set per request


@pytest.mark.parametrize("collection", [name for name, filters in COUNTED_FILTERS.items() if filters])
def test_every_total_counted_at_load_is_what_the_filter_lists(client, shared_url, collection):
    database = open_database(shared_url)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        stored = {(c.filter, c.value): c.total for c in m.ListCount.select().where(m.ListCount.collection == collection)}
    database.close()
    assert stored[("", "")] == client.get(f"/v1/{collection}?limit=1").get_json()["meta"]["total"]
    for name in COUNTED_FILTERS[collection]:
        values = [value for (filter_, value) in stored if filter_ == name]
        assert values, f"no value of {name} was counted"
        for value in values:
            listed = client.get(f"/v1/{collection}", query_string={name: value, "limit": 500}).get_json()
            assert listed["meta"]["total"] == stored[(name, value)] == len(listed["data"]), (name, value)
            assert listed["meta"]["total_is_exact"] is True


def test_every_filter_of_one_column_and_one_value_is_counted_at_load():
    """A new filter that compares one column with one value belongs in COUNTED_FILTERS: its
    totals then cost a lookup, not a count. The other filters are listed here, on purpose."""
    not_counted = {"q", "from", "to", "min", "max", "active_on", "changed_since"}
    for name, collection in COLLECTIONS.items():
        declared = set(collection.query_schema().fields) - {"limit", "cursor", "sort", "include", "format"}
        assert declared - not_counted == set(COUNTED_FILTERS[name]), name


def test_a_seed_field_with_no_column_reaches_the_record(migrated, seed_set, monkeypatch):
    """A field only shown needs a place in the seed schema and in the record's schema, no column
    (ARCHITECTURE.md, "Adding a field"): the loader keeps it in `extra`, and the record has it."""
    entry = next(e for e in seed_set.entries.values() if e.section == "figures")
    monkeypatch.setitem(entry.data, "method", "counted at the gate")
    rows = api_load._rows(seed_set)
    row = next(r for r in rows[m.Figure] if r["id"] == entry.data["id"])
    assert row["extra"] == {"method": "counted at the gate"}
    database = open_database(migrated)
    with database.bind_ctx(m.ALL_MODELS):
        load(seed_set, database)
        with database.connection_context():
            model = m.Figure
            record = represent("figures", list(model.select(*record_columns(model)).where(model.id == entry.data["id"]).namedtuples()))[0]
    database.close()
    assert record["method"] == "counted at the gate"


def test_a_record_s_hash_changes_with_what_it_says_and_only_then(loaded, seed_set):
    from tests.support import recompile

    before, _ = documents_in(loaded)
    recompile(loaded)
    again, _ = documents_in(loaded)
    assert {key: d.hash for key, d in again.items()} == {key: d.hash for key, d in before.items()}
    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        m.Figure.update(note="Corrected.").where(m.Figure.id == "kimjang-festival-2023-sales-amount").execute()
    database.close()
    recompile(loaded)
    after, _ = documents_in(loaded)
    changed = {key for key in after if after[key].hash != before[key].hash}
    assert changed == {("figure", "kimjang-festival-2023-sales-amount")}


def test_an_export_is_the_header_and_the_compiled_lines_in_order(client, shared_url):
    found, represented = documents_in(shared_url)
    for record_type in RECORD_TYPES:
        served = client.get(f"/v1/{record_type.name}?format=csv").get_data()
        lines = b"".join(bytes(found[(record_type.type, r["id"])].csv) for r in represented[record_type.name])
        assert served == header(record_type.schema) + lines, record_type.name


def test_a_document_whose_record_is_gone_is_found_by_an_anti_join(loaded, backend):
    """The load finds documents whose record is gone with NOT EXISTS: PostgreSQL ran the NOT IN
    it replaced as a loop over the whole table for every document once the ids passed work_mem
    (most of loading 10^5 figures). Here work_mem is set below the ids, as at 10^5."""
    from api.ingest.compile import orphans

    figures = next(t for t in RECORD_TYPES if t.name == "figures")
    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS), database.atomic() as transaction:
        gone = m.Document.get(m.Document.record_type == figures.type).record_id
        figures.model.delete().where(figures.model.id == gone).execute()
        assert [record_id for record_id, _ in orphans(figures).tuples()] == [gone]
        if backend == "postgres":
            database.execute_sql("SET LOCAL work_mem = '64kB'")
            sql, params = orphans(figures).sql()
            plan = "\n".join(row[0] for row in database.execute_sql("EXPLAIN " + sql, params).fetchall())
            assert "Anti Join" in plan and "SubPlan" not in plan, plan
        transaction.rollback()
    database.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_on_postgresql_a_load_plans_each_statement_for_the_tables_as_they_are(migrated, seed_set, backend, monkeypatch):
    """A load's repeated statements are prepared, and PostgreSQL's generic plan for them was
    made while the tables were empty: a whole-table scan per batch. The load's transaction
    asks for custom plans; the setting ends with it."""
    seen = []
    compile_documents = api_load.compiler.compile_documents

    def spy(database, *args, **kwargs):
        seen.append(database.execute_sql("SHOW plan_cache_mode").fetchone()[0])
        return compile_documents(database, *args, **kwargs)

    monkeypatch.setattr(api_load.compiler, "compile_documents", spy)
    database = open_database(migrated)
    with database.bind_ctx(m.ALL_MODELS):
        load(seed_set, database)
        after = database.execute_sql("SHOW plan_cache_mode").fetchone()[0]
    database.close()
    assert seen == ["force_custom_plan"]
    assert after == "auto"


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_on_postgresql_a_fresh_compile_reads_tables_with_their_statistics(migrated, seed_set, backend, monkeypatch):
    """Compiling every record looks rows up by batches of ids in tables written in the same
    transaction, never analysed: PostgreSQL then plans each look-up as a scan of the whole
    table (most of compiling 10^6 figures). The load analyses them before compiling."""
    seen = []
    represent = api_compile.represent

    def spy(name, rows, ids):
        if not seen:
            seen.append(database.execute_sql("SELECT reltuples FROM pg_class WHERE relname = 'citation'").fetchone()[0])
            # Nothing shared with other databases is locked: a bare ANALYZE locked the shared
            # catalogs until the load ended, and every other database's ANALYZE waited.
            shared = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relisshared AND l.pid = pg_backend_pid()"
            seen.append(database.execute_sql(shared).fetchone()[0])
        return represent(name, rows, ids)

    monkeypatch.setattr(api_compile, "represent", spy)
    database = open_database(migrated)
    with database.bind_ctx(m.ALL_MODELS):
        load(seed_set, database)
        citations = m.Citation.select().count()
    database.close()
    assert citations > 0
    assert seen == [citations, 0]
