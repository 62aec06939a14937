"""api/store/fastpath.py leans on peewee's and playhouse's internals for speed. Each test here
pins one of them against the public API it shortcuts, so a peewee upgrade that changes what
the shortcut relies on fails here, by name, rather than somewhere downstream."""

import datetime
import decimal

import pytest
from peewee import SQL, fn
from playhouse.pool import PooledPostgresqlDatabase
from playhouse.test_utils import count_queries

from api.query.records import record_columns
from api.store import models as m
from api.store.db import db
from api.store.fastpath import (
    OpenedTransaction,
    TrustingPostgresqlPool,
    as_sent,
    fetched,
    first_row,
    in_select,
    indexed_by,
    insert_rows,
    rows_among,
    rows_among_each,
)


def test_the_pool_overrides_hooks_that_playhouse_still_calls():
    pool = PooledPostgresqlDatabase("x")
    for name in ("_can_reuse", "_is_closed", "conn_key"):
        assert callable(getattr(pool, name, None)), f"playhouse.pool no longer has {name}"
    assert {"_can_reuse", "_is_closed"} <= set(TrustingPostgresqlPool.__dict__)
    assert callable(pool._adapter.txn_status) and pool._adapter.txn_idle is not None
    # What the pool does with them is tested in tests/test_faults.py (a connection given back
    # just now is handed out without a ping; one the server dropped costs no 500).


def test_fetched_gives_the_named_tuples_peewee_gives(loaded):
    with db.connection_context():
        for model in m.RECORD_MODELS.values():
            query = model.select(*record_columns(model)).order_by(model.id).namedtuples()
            ours, peewees = fetched(query), list(query)
            assert ours == peewees, model.__name__
            assert ours[0]._fields == peewees[0]._fields, model.__name__
        figures = fetched(m.Figure.select(*record_columns(m.Figure)).namedtuples())
    typed = {type(getattr(f, name)) for f in figures for name in ("value", "period_start", "name_en_translated") if getattr(f, name) is not None}
    assert typed == {decimal.Decimal, datetime.date, bool}  # converted as peewee converts them


def test_as_sent_columns_come_back_as_the_driver_sends_them(loaded):
    with db.connection_context():
        plain = m.Figure.select(as_sent(m.Figure.id), as_sent(m.Figure.position), as_sent(m.Figure.unit)).tuples().first()
        converted = m.Figure.select(as_sent(m.Figure.value), as_sent(m.Figure.name_en_translated)).where(m.Figure.value.is_null(False))
        value, translated = converted.tuples().first()
    assert [type(v) for v in plain[:2]] == [str, int]
    assert isinstance(value, decimal.Decimal) and isinstance(translated, bool)


def test_first_row_finds_what_peewees_query_finds(loaded):
    with db.connection_context():
        for count in m.ListCount.select().limit(5):
            keys = (count.collection, count.filter, count.value)
            assert first_row(m.ListCount, ("total",), ("collection", "filter", "value"), keys) == (count.total,)
        assert first_row(m.ListCount, ("total",), ("collection", "filter", "value"), ("figures", "unit", "no such unit")) is None


class CountedSQL(SQL):
    """SQL text that counts how often it is rendered."""

    renders = 0

    def __sql__(self, ctx):
        CountedSQL.renders += 1
        return super().__sql__(ctx)


def subject_page(inside):
    """The shape of a subject's page: ids IN (figures about it), themselves IN another select."""
    about = m.FigureSubject.select(m.FigureSubject.figure).where(CountedSQL("1 = 1") & (m.FigureSubject.subject_id == "kimjang-festival-2023"))
    ids = m.Figure.select(m.Figure.id).where(inside(m.Figure.id, about)).order_by(m.Figure.position).limit(3)
    return m.Figure.select(m.Figure.id).where(inside(m.Figure.id, ids)).order_by(m.Figure.position)


def renders(query):
    CountedSQL.renders = 0
    sql = query.sql()
    return sql, CountedSQL.renders


def test_in_select_is_peewees_in_with_each_select_rendered_once(loaded):
    plain_sql, plain_renders = renders(subject_page(lambda column, select: column.in_(select)))
    ours_sql, ours_renders = renders(subject_page(in_select))
    assert ours_sql == plain_sql
    assert ours_renders == 1
    # peewee renders a select once more to see if it is empty: if this fails, it no longer
    # does, and in_select can go.
    assert plain_renders > 1
    with db.connection_context():
        found = [row.id for row in subject_page(in_select)]
    assert found and found == [row.id for row in subject_page(lambda column, select: column.in_(select))]
    with pytest.raises(TypeError, match="in_"):
        in_select(m.Figure.id, ["a", "b"])


def test_indexed_by_names_the_index_sqlite_then_reads(backend, loaded):
    if backend != "sqlite":
        pytest.skip("INDEXED BY is SQLite's")
    with db.connection_context():
        ids = m.Figure.select(m.Figure.id).where(m.Figure.unit == "KRW").order_by(m.Figure.position, m.Figure.id).limit(3)
        forced = indexed_by(ids, "figure_unit_order_days")
        assert "INDEXED BY" in forced.sql
        plan = db.execute_sql("EXPLAIN QUERY PLAN " + forced.sql[1:-1], forced.params).fetchall()
        assert any("figure_unit_order_days" in str(step) for step in plan), plan
        found = m.Figure.select(m.Figure.id).where(m.Figure.id.in_(forced)).order_by(m.Figure.position, m.Figure.id)
        assert [r.id for r in found] == [r.id for r in ids]


def test_rows_among_finds_what_peewees_in_finds(loaded):
    with db.connection_context():
        ids = [f.id for f in m.Figure.select(m.Figure.id).order_by(m.Figure.id)][::3] + ["no-such-figure"]
        want = sorted(m.Figure.select(m.Figure.id, m.Figure.name_ko).where(m.Figure.id.in_(ids)).tuples())
        assert sorted(rows_among(m.Figure, ("id", "name_ko"), "id", ids)) == want and len(want) == len(ids) - 1
        assert rows_among(m.Figure, ("id",), "id", []) == []
        numbers = [n for (n,) in m.SearchEntry.select(m.SearchEntry.record_no).distinct().tuples()][:40]
        entries = m.SearchEntry.select(m.SearchEntry.id).where(m.SearchEntry.record_no.in_(numbers))
        ordered = [tuple(r) for r in entries.order_by(m.SearchEntry.id).tuples()]
        assert [tuple(r) for r in rows_among(m.SearchEntry, ("id",), "record_no", numbers, order="id")] == ordered
        gram = m.SearchTokenGram
        counted = gram.select(gram.token, fn.COUNT(gram.gram)).where(gram.gram.in_(["김장", "장대"])).group_by(gram.token).tuples()
        assert sorted(rows_among(gram, ("token", "COUNT(*)"), "gram", ["김장", "장대"], group="token")) == sorted(counted)


def test_rows_among_each_is_rows_among_of_each_model_in_one_statement(loaded):
    with db.connection_context():
        figures = [f.id for f in m.Figure.select(m.Figure.id).order_by(m.Figure.id)][::4] + ["no-such-figure"]
        events = [e.id for e in m.Event.select(m.Event.id).order_by(m.Event.id)][::2]
        columns = ("id", "name_ko", "name_en", "name_en_translated")
        want = [(0, *row) for row in rows_among(m.Figure, columns, "id", figures)]
        want = sorted(want + [(1, *row) for row in rows_among(m.Event, columns, "id", events)])
        with count_queries() as counter:
            found = rows_among_each([(m.Figure, figures), (m.Event, events)], columns, "id")
        assert sorted(tuple(row) for row in found) == want and {row[0] for row in want} == {0, 1}
        assert counter.count == 1


def test_insert_rows_writes_what_insert_many_writes(migrated):
    rows = [
        {"code": "KRW", "label_ko": "원", "label_en": "Korean won", "note": None, "position": 0},
        {"code": "t", "label_ko": "톤", "label_en": "tonne", "note": "metric", "position": 1},
    ]
    with db.connection_context():
        with db.atomic() as transaction:
            insert_rows(db.obj, m.Unit, rows)
            fast = list(m.Unit.select().order_by(m.Unit.code).dicts())
            transaction.rollback()
        with db.atomic() as transaction:
            m.Unit.insert_many(rows).execute()
            slow = list(m.Unit.select().order_by(m.Unit.code).dicts())
            transaction.rollback()
    assert fast == slow and len(fast) == 2


def test_an_opened_transaction_is_peewees_begun_by_its_own_statements(loaded):
    """OpenedTransaction overrides `_begin` of peewee's `_transaction`: peewee still counts its
    depth (so an atomic() inside it is a savepoint) and commits or rolls back at exit."""
    from peewee import _transaction

    assert callable(getattr(_transaction, "_begin", None)) and "_begin" in OpenedTransaction.__dict__
    postgres = loaded.startswith("postgres")
    opening = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 41 + 1" if postgres else "BEGIN"
    with db.connection_context():
        with OpenedTransaction(db, opening) as transaction:
            assert db.transaction_depth() == 1 and db.in_transaction()
            if postgres:
                cursor = transaction.cursor
                while cursor.description is None and cursor.nextset():
                    pass  # past BEGIN's result, to the SELECT's
                assert cursor.fetchone() == (42,)
                assert db.execute_sql("SHOW transaction_read_only").fetchone() == ("on",)
                assert db.execute_sql("SHOW transaction_isolation").fetchone() == ("repeatable read",)
            with db.atomic() as inner:
                assert type(inner).__name__ == "_savepoint"
        assert db.transaction_depth() == 0
        if postgres:
            assert db.connection().info.transaction_status == 0  # idle: committed, not left open
        try:
            with OpenedTransaction(db, opening):
                raise RuntimeError("a request that fails")
        except RuntimeError:
            pass
        assert db.transaction_depth() == 0
