"""CSV, on SQLite and PostgreSQL: asked for by Accept or ?format=, UTF-8 with a BOM, flat
columns, every row that matches the filter (not one page), a download filename, and a file
a spreadsheet opens as meant: CRLF rows, Korean intact, numbers as written, and no text
that a spreadsheet would run as a formula."""

import csv
import datetime
import io
from decimal import Decimal

import pytest

from api.store import models as m
from api.store.db import open_database
from tests.support import recompile, request_queries

COLLECTIONS = ["sources", "organisations", "people", "places", "events", "programmes", "figures"]


def table(response):
    """The CSV as a spreadsheet reads it: header and rows (the BOM is checked, then dropped)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM, so spreadsheets read the Korean as UTF-8"
    text = response.data.decode("utf-8")[1:]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def json_records(client, path):
    body = client.get(path + ("&" if "?" in path else "?") + "limit=500").get_json()
    assert body["meta"]["total"] == len(body["data"])
    return body["data"]


def write_to_test_database(app, model, rows):
    """Change or add rows in this test's own database (the API itself is read-only), and compile
    them again as a load would."""
    database = open_database(app.config["DATABASE_URL"])
    with database.bind_ctx([model]), database.connection_context(), database.atomic():
        for row_id, changes in rows.get("update", {}).items():
            model.update(**changes).where(model.id == row_id).execute()
        if rows.get("insert"):
            model.insert_many(rows["insert"]).execute()
    database.close()
    recompile(app.config["DATABASE_URL"])


@pytest.mark.parametrize("ask", [{"headers": {"Accept": "text/csv"}}, {"query_string": {"format": "csv"}}])
@pytest.mark.parametrize("collection", COLLECTIONS)
def test_csv_is_asked_for_by_accept_or_format(client, collection, ask):
    response = client.get(f"/v1/{collection}", **ask)
    assert response.mimetype == "text/csv" and response.mimetype_params.get("charset") == "utf-8"
    disposition = response.headers["Content-Disposition"]
    version = client.get("/v1").get_json()["data"]["dataset"]["version"]
    assert disposition == f'attachment; filename="civicfacts-{collection}-{version}.csv"'
    header, rows = table(response)
    assert header[:9] == ["id", "type", "name_ko", "name_en", "name_en_translated", "other_names", "note", "source", "evidence"]
    assert [r["id"] for r in rows] == [r["id"] for r in json_records(client, f"/v1/{collection}")]


def test_figure_columns_are_flat(client):
    header, _ = table(client.get("/v1/figures?format=csv"))
    assert header == [
        "id",
        "type",
        "name_ko",
        "name_en",
        "name_en_translated",
        "other_names",
        "note",
        "source",
        "evidence",
        "value",
        "unit",
        "value_text",
        "qualifier",
        "period_start",
        "period_end",
        "as_of",
        "subjects",
        "parts",
        "part_of",
        "comparisons",
        "checks",
        "discrepancy",
        "dated_from",
        "value_in_words",
    ]
    header, _ = table(client.get("/v1/programmes?format=csv"))
    assert {"eligibility_ko", "eligibility_en", "benefits_ko", "benefits_en", "operators", "places"} <= set(header)


@pytest.mark.parametrize("query", ["limit=1", "limit=1&unit=company", "limit=2&q=김장", "limit=1&sort=-value&min=100"])
def test_csv_holds_every_matching_row_not_one_page(client, query):
    _, rows = table(client.get(f"/v1/figures?{query}&format=csv"))
    filters = "&".join(p for p in query.split("&") if not p.startswith("limit="))
    expected = json_records(client, f"/v1/figures?{filters}")
    assert [r["id"] for r in rows] == [f["id"] for f in expected]
    assert len(rows) > 1


def test_the_filter_is_applied(client):
    _, rows = table(client.get("/v1/figures?unit=KRW", headers={"Accept": "text/csv"}))
    assert {r["unit"] for r in rows} == {"KRW"} and len(rows) == 3
    _, rows = table(client.get("/v1/events?participant=adam-choi&format=csv"))
    assert [r["id"] for r in rows] == ["ai-healthcare-digital-twin-workshop-2023", "ai-healthcare-digital-twin-mou-2023"]
    _, rows = table(client.get("/v1/figures?unit=krw&format=csv"))
    assert rows == []  # a header and nothing else


def test_one_record_as_csv(client):
    _, rows = table(client.get("/v1/figures/kimjang-festival-2023-sales-amount?format=csv"))
    assert len(rows) == 1
    row = rows[0]
    assert row["value"] == "1470000000" and row["value_text"] == "14억 7000만원" and row["unit"] == "KRW"
    assert row["period_start"] == "2023-11-22" and row["period_end"] == "2023-12-10"
    assert row["subjects"] == "kimjang-festival-2023"
    assert row["evidence"] == "218t(14억 7000만원 상당)의 김장김치를 판매했다 | 역대 최대 14억7000만원 판매"


def test_it_opens_in_a_spreadsheet_as_written(client):
    """Rows end in CRLF (RFC 4180), Korean is intact and numbers are as the JSON gives them."""
    response = client.get("/v1/figures?format=csv")
    text = response.data.decode("utf-8")[1:]
    header, rows = table(response)
    rewritten = io.StringIO()
    writer = csv.writer(rewritten, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([row[name] for name in header] for row in rows)
    assert rewritten.getvalue() == text, "one CRLF-terminated record per row, standard quoting"
    for figure, row in zip(json_records(client, "/v1/figures"), rows, strict=True):
        assert row["name_ko"] == figure["name"]["ko"] and row["value_text"] == figure["value_text"]
        assert row["evidence"] == " | ".join(c["evidence"] for c in figure["sources"])
        if figure["value"] is None:
            assert row["value"] == ""
        else:
            assert row["value"] == str(figure["value"]) and "e" not in row["value"].lower()
            assert Decimal(row["value"]) == Decimal(str(figure["value"]))
    by_id = {r["id"]: r for r in rows}
    assert by_id["kimjang-festival-2023-sales-growth"]["value"] == "33.6"
    assert by_id["gwangju-social-economy-enterprises-per-100k"]["value"] == "101.3"
    assert by_id["kimjang-festival-2023-participants"]["qualifier"] == "at_least"


def test_text_a_spreadsheet_would_run_is_defused_and_numbers_are_not(writable_client, writable_app):
    """A cell starting with = + - @ runs as a formula in a spreadsheet (CSV injection): such text
    gets a leading apostrophe. Numbers, negative ones too, are written untouched."""
    write_to_test_database(
        writable_app,
        m.Figure,
        {
            "update": {
                "kimjang-festival-2023-sales-amount": {
                    "note": '=HYPERLINK("http://evil.example","click")',
                    "name_en": "+SUM(1,2)",
                    "other_names": ["@cmd", "plain"],
                    "discrepancy": "-2+3",
                },
                "kimjang-festival-2023-sales-growth": {"value": Decimal("-12.5"), "value_text": "\t=1+1"},
                "gwangju-social-economy-enterprises-per-100k": {"value": Decimal("0.000001")},
            }
        },
    )
    _, rows = table(writable_client.get("/v1/figures?format=csv"))
    by_id = {r["id"]: r for r in rows}
    amount = by_id["kimjang-festival-2023-sales-amount"]
    assert amount["note"] == '\'=HYPERLINK("http://evil.example","click")'
    assert amount["name_en"] == "'+SUM(1,2)" and amount["other_names"] == "'@cmd; plain" and amount["discrepancy"] == "'-2+3"
    assert amount["name_ko"] == "판매금액" and amount["value"] == "1470000000"  # the rest as it was
    growth = by_id["kimjang-festival-2023-sales-growth"]
    assert growth["value"] == "-12.5"  # a number: never altered
    assert growth["value_text"] == "'\t=1+1"
    assert by_id["gwangju-social-economy-enterprises-per-100k"]["value"] == "0.000001"  # not 1e-06
    for row in rows:
        for name, cell in row.items():
            if name != "value":
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (row["id"], name, cell)


def test_thousands_of_rows_stream_in_full_and_in_order(writable_client, writable_app):
    """The export reads in batches (keyset, 500 rows each); every row comes out once."""
    extra = [
        {
            "id": f"synthetic-figure-{n:04d}",
            "name_ko": f"합성 {n}",
            "name_en": f"Synthetic {n}",
            "other_names": [],
            "position": 1000 + n,
            "value": Decimal(n),
            "value_text": f"{n}개",
            "qualifier": "exact",
            "as_of": datetime.date(2023, 1, 1),
        }
        for n in range(1234)
    ]
    write_to_test_database(writable_app, m.Figure, {"insert": extra})
    _, rows = table(writable_client.get("/v1/figures?format=csv&limit=1"))
    ids = [r["id"] for r in rows]
    assert len(ids) == 29 + 1234 and len(set(ids)) == len(ids)
    assert ids[29:] == [e["id"] for e in extra]
    _, rows = table(writable_client.get("/v1/figures?format=csv&sort=-value&min=1000"))
    seeded = [1470000000, 1100000000, 96760000, 12000, 2700, 2014, 1523]  # the page's figures of 1000 or more
    assert [r["value"] for r in rows] == [str(v) for v in sorted([*seeded, *range(1000, 1234)], reverse=True)]


def test_csv_has_paths_of_its_own_for_generated_clients(client):
    """/v1/<collection>.csv and /v1/<collection>/<id>.csv: what ?format=csv gives, as operations of
    their own (a generated client reads each operation's answer as one type); a page's
    parameters are not theirs."""
    listed = client.get("/v1/figures.csv?subject=kimjang-festival-2023")
    assert listed.status_code == 200 and listed.mimetype == "text/csv"
    assert listed.data == client.get("/v1/figures?subject=kimjang-festival-2023&format=csv").data
    assert client.get("/v1/figures.csv?limit=5").status_code == 400
    one = client.get("/v1/figures/kimjang-festival-2023-sales-amount.csv")
    assert one.data == client.get("/v1/figures/kimjang-festival-2023-sales-amount?format=csv").data
    assert "civicfacts-figures-kimjang-festival-2023-sales-amount-" in one.headers["Content-Disposition"]
    assert client.get("/v1/figures.csv", headers={"Accept": "application/json"}).status_code == 406
    ld = client.get("/v1/figures/kimjang-festival-2023-sales-amount.jsonld")
    assert ld.mimetype == "application/ld+json" and ld.get_json(force=True)["@type"] == "Observation"
    feed = client.get("/v1/changes.csv?kind=changed")
    assert feed.status_code == 200 and feed.mimetype == "text/csv"
    assert feed.data == client.get("/v1/changes?kind=changed&format=csv").data
    assert feed.data.decode("utf-8-sig").startswith("dataset_version,loaded_at,collection,id,kind,")


@pytest.mark.parametrize("collection", list(m.RECORD_MODELS))
def test_a_whole_export_states_the_length_counted_at_load_without_summing_the_documents(fresh_client, collection):
    """Summing every document's CSV line read the whole collection before the first byte (5 s
    at 10^6 figures, past the query timeout): the load counts it once. A filtered export still
    sums what it selects, and both lengths are the bytes sent."""
    with request_queries(fresh_client) as counter:
        whole = fresh_client.get(f"/v1/{collection}?format=csv&sort=-id")
        body = whole.get_data()
    assert whole.status_code == 200 and whole.headers["Content-Length"] == str(len(body))
    assert not [q.msg[0] for q in counter.get_queries() if "SUM(LENGTH(" in q.msg[0]]
    stored = m.ListCount.get((m.ListCount.collection == collection) & (m.ListCount.filter == "")).csv_bytes
    assert len(body) == len(body.split(b"\r\n", 1)[0]) + 2 + stored

    with request_queries(fresh_client) as counter:
        filtered = fresh_client.get(f"/v1/{collection}?format=csv&q=2023")
        part = filtered.get_data()
    assert filtered.status_code == 200 and filtered.headers["Content-Length"] == str(len(part))
    assert [q.msg[0] for q in counter.get_queries() if "SUM(LENGTH(" in q.msg[0]]
