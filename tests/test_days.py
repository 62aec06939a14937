"""A date range's total comes from running totals kept at load (api/query/days.py): it must be
what counting the overlapping rows gives, for every range, whole collection or one unit, on
SQLite and PostgreSQL. Its page is read through whichever index the totals choose, and either
index gives the same page. A database whose running totals are not kept (migrated, not loaded
since) or cannot be (a period ending before it starts) counts as before."""

import datetime

import pytest

from api.query import days
from api.store import models as m
from api.store.db import open_database
from api.store.fastpath import indexed_by
from api.web.resources.figures import apply
from tests.support import make_app

ONE_DAY = datetime.timedelta(days=1)


def boundaries(database_url):
    """Every day a figure starts or ends on, the days either side of each, and None (no bound)."""
    database = open_database(database_url)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        found = set()
        for first, last in m.Figure.select(m.FIGURE_FIRST_DAY, m.FIGURE_LAST_DAY).where(m.FIGURE_FIRST_DAY.is_null(False)).tuples():
            for day in (first, last):
                day = day if isinstance(day, datetime.date) else datetime.date.fromisoformat(day)
                found |= {day - ONE_DAY, day, day + ONE_DAY}
        units = sorted({u for (u,) in m.Figure.select(m.Figure.unit).where(m.Figure.unit.is_null(False)).tuples()})
    database.close()
    return [None, *sorted(found)], units


def ranges(bounds):
    return [(low, high) for low in bounds for high in bounds if low or high]


def test_every_range_s_total_is_what_counting_the_rows_gives(shared_url):
    bounds, units = boundaries(shared_url)
    database = open_database(shared_url)
    checked = 0
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        for scope in [{}, *({"unit": unit} for unit in units), {"unit": "no-such-unit"}]:
            for low, high in ranges(bounds):
                filters = {**scope, **({"from": low} if low else {}), **({"to": high} if high else {})}
                measured = days.measure("figures", filters)
                assert measured is not None, filters
                assert measured.overlapping == apply(m.Figure.select(), filters).count(), filters
                in_scope = m.Figure.select().where(m.Figure.unit == scope["unit"]) if scope else m.Figure.select()
                assert measured.in_scope == in_scope.count()
                checked += 1
    database.close()
    assert checked > 1000  # boundaries on both sides of every day the seeds give, in each unit


def test_only_a_range_within_the_collection_or_one_unit_is_measured():
    low, high = datetime.date(2023, 1, 1), datetime.date(2023, 12, 31)
    assert days.scope_of("figures", {"from": low}) == ("", "")
    assert days.scope_of("figures", {"unit": "KRW", "to": high}) == ("unit", "KRW")
    assert days.scope_of("figures", {"unit": "KRW"}) is None  # no range: counted at load as a filter's value
    assert days.scope_of("figures", {"unit": "KRW", "qualifier": "exact", "from": low}) is None
    assert days.scope_of("figures", {"subject": "x", "from": low}) is None
    assert days.scope_of("events", {"from": low}) is None


def test_a_page_walks_in_page_order_where_many_overlap_and_by_day_where_few_do():
    many = days.Range("figures", "unit", overlapping=30_000, in_scope=300_000, ending_after=150_000)
    few = days.Range("figures", "unit", overlapping=40, in_scope=300_000, ending_after=2_000)
    assert many.index(50) == "figure_unit_order_days"  # ~510 entries against 150,000
    assert few.index(50) == "figure_unit_days"  # the whole unit against 2,000
    assert days.Range("figures", "", 10, 10, 10).index(50) == "figure_order_days"  # a small table: either, one walk


@pytest.mark.parametrize("scope", [{}, {"unit": "KRW"}, {"unit": "person"}])
def test_either_index_gives_the_page_the_planner_gives(backend, shared_url, scope):
    if backend != "sqlite":
        pytest.skip("INDEXED BY is SQLite's: PostgreSQL chooses its own plan")
    bounds, _ = boundaries(shared_url)
    database = open_database(shared_url)
    name = "unit" if scope else ""
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        for low, high in ranges(bounds[::3]):
            filters = {**scope, **({"from": low} if low else {}), **({"to": high} if high else {})}
            ids = apply(m.Figure.select(m.Figure.id), filters).order_by(m.Figure.position, m.Figure.id).limit(4)
            planned = [row.id for row in ids]
            for index in (days.DATED["figures"].order[name], days.DATED["figures"].days[name]):
                forced = m.Figure.select(m.Figure.id).where(m.Figure.id.in_(indexed_by(ids, index))).order_by(m.Figure.position, m.Figure.id)
                assert [row.id for row in forced] == planned, (filters, index)
    database.close()


def test_a_range_s_list_says_its_exact_total_and_pages_through_every_overlapping_figure(client, shared_url):
    bounds, units = boundaries(shared_url)
    for unit in [None, *units[:3]]:
        for low, high in ranges(bounds[::4])[::7]:
            query = {"limit": 2, **({"unit": unit} if unit else {})}
            query.update({**({"from": low.isoformat()} if low else {}), **({"to": high.isoformat()} if high else {})})
            whole = client.get("/v1/figures", query_string={**query, "limit": 500}).get_json()
            assert whole["meta"]["total_is_exact"] is True and whole["meta"]["total"] == len(whole["data"]), query
            seen, url = [], "/v1/figures"
            params = query
            while url:
                body = client.get(url, query_string=params).get_json()
                assert body["meta"]["total"] == len(whole["data"])
                seen += [record["id"] for record in body["data"]]
                url, params = body["links"]["next"], None
            assert seen == [record["id"] for record in whole["data"]], query


def test_a_range_before_the_running_totals_are_kept_is_counted_as_before(loaded):
    """A database migrated to 0010 and not loaded since has no running totals: its ranges are
    counted under the budget, exactly where they are few."""
    app = make_app(loaded)
    client = app.test_client()
    path = "/v1/figures?unit=KRW&from=2023-01-01&limit=500"
    kept = client.get(path).get_json()
    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context(), database.atomic():
        m.DayCount.delete().execute()
        m.ListCount.delete().where(m.ListCount.filter == days.KEPT).execute()
    database.close()
    app = make_app(loaded)  # no cached answer
    counted = app.test_client().get(path).get_json()
    assert counted["meta"]["total"] == kept["meta"]["total"] == len(kept["data"])
    assert counted["data"] == kept["data"]


def test_a_period_that_ends_before_it_starts_keeps_no_running_totals(loaded):
    """The seeds' schemas refuse such a period, so only a database written by other means can
    hold one: the subtraction would then be wrong, so its ranges are counted row by row."""
    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context(), database.atomic():
        figure = m.Figure.select().where(m.Figure.period_start.is_null(False) & m.Figure.period_end.is_null(False)).first()
        m.Figure.update(period_start=figure.period_end + ONE_DAY).where(m.Figure.id == figure.id).execute()
        days.keep(database)
        assert m.DayCount.select().count() == 0
        assert days.measure("figures", {"from": figure.period_end}) is None
    database.close()
