"""The sources live in the repository and each quote is checked against its own source.

The pages are in seeds/pages/, named with their SHA-256 by each source; the loader refuses a
missing or changed page (never skipping the check), places every quote exactly once in the
text of the source it cites, and keeps its span and sentence, which the API serves with every
citation. A second, synthetic page (tests/second_page/) shows that a quote true on one page
and cited to the other is refused. The page's own text is not served.
"""

import hashlib
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

from api.ingest.pages import CONTEXT_MARGIN, Page, squash, text_of
from api.ingest.read import SeedError, read_seeds

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
MINIMAL = ROOT / "tests" / "seed_faults" / "minimal"
SECOND = ROOT / "tests" / "second_page"
PAGE_FILE = "000_f27f502ecff37551.txt"
KIMJANG = "01_kimjang_festival.yaml"  # in the minimal set: article 3, lines 49-65
MARKET = "02_small_business_online_market.yaml"  # article 6, lines 91-101


def copy(source, tmp_path, name="seeds"):
    return pathlib.Path(shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("*.md")))


def with_second_page(tmp_path):
    """A copy of the real seeds with the synthetic page and its article added."""
    seeds = copy(SEEDS, tmp_path)
    shutil.copy(SECOND / "pages" / "900_synthetic_briefing.txt", seeds / "pages")
    shutil.copy(SECOND / "08_synthetic_briefing.yaml", seeds)
    return seeds


def problems_of(seeds_dir):
    with pytest.raises(SeedError) as caught:
        read_seeds(seeds_dir)
    return caught.value.problems


def change(path, section, record_id, update):
    """Apply `update` to one record of an article file (YAML in, YAML out)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    records = [document["source"]] if section == "sources" else document[section]
    update(next(r for r in records if r["id"] == record_id))
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")


def civicfacts(*args, cwd):
    return subprocess.run([sys.executable, "-m", "api.cli", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


# --- the page in the repository ------------------------------------------------------------


def test_a_changed_page_is_refused_naming_the_file_and_both_hashes(tmp_path):
    seeds = copy(MINIMAL, tmp_path)
    page = seeds / "pages" / PAGE_FILE
    page.write_text(page.read_text(encoding="utf-8").replace("218t", "219t"), encoding="utf-8")
    problems = problems_of(seeds)
    assert {(pathlib.Path(p.file).name, p.record, p.field) for p in problems} == {
        (KIMJANG, "sources[kimjang-festival-article]", "page.sha256"),
        (MARKET, "sources[small-business-online-market-article]", "page.sha256"),
    }
    for problem in problems:
        assert f"pages/{PAGE_FILE}" in problem.message and "211514e4e753ad41" in problem.message
        assert "not the one the source was curated from" in problem.message


@pytest.mark.parametrize(
    ("page", "field", "says"),
    [
        ({"file": "../../etc/passwd.txt"}, "page.file", "must be a file name"),
        ({"file": "other.txt"}, "page.file", "pages/other.txt is missing"),
        ({"lines": {"first": 49, "last": 500}}, "page.lines", "has 120 lines"),
        ({"lines": {"first": 60, "last": 49}}, "page.lines.last", "before first"),
        ({"lines": {"first": 95, "last": 96}}, "page.lines", "overlaps the text of source"),
        ({"sha256": "F" * 64}, "page.sha256", "64 lower-case hex digits"),
    ],
    ids=["escape", "missing", "past-the-end", "backwards", "overlap", "not-hex"],
)
def test_a_bad_page_reference_is_refused_by_field(tmp_path, page, field, says):
    seeds = copy(MINIMAL, tmp_path)
    change(seeds / KIMJANG, "sources", "kimjang-festival-article", lambda s: s["page"].update(page))
    problems = problems_of(seeds)
    found = [p for p in problems if p.field == field and p.record.startswith("sources[") and says in p.message]
    assert found, problems  # an overlap is reported on whichever source is read second


def test_the_minimal_set_carries_the_same_page_as_the_seeds():
    assert (MINIMAL / "pages" / PAGE_FILE).read_bytes() == (SEEDS / "pages" / PAGE_FILE).read_bytes()


# --- each quote in its own source, once ---------------------------------------------------------


def test_a_quote_from_another_article_of_the_same_page_is_refused_saying_where_it_stands(tmp_path):
    seeds = copy(MINIMAL, tmp_path)
    quote = "716개사 1523개 제품의 판로"  # article 6, cited to article 3
    change(seeds / KIMJANG, "figures", "kimjang-festival-2023-participants", lambda f: f["sources"][0].update(evidence=quote))
    (problem,) = problems_of(seeds)
    assert (problem.record, problem.field) == ("figures[kimjang-festival-2023-participants]", "sources[0].evidence")
    assert "of source 'kimjang-festival-article' is not verbatim in the text of the source" in problem.message
    assert "it stands in the text of small-business-online-market-article (line 97" in problem.message


def test_a_quote_that_stands_twice_in_its_source_names_no_place_and_is_refused(tmp_path):
    seeds = copy(MINIMAL, tmp_path)
    change(seeds / KIMJANG, "places", "gwangju-kimchi-town", lambda p: p["sources"][0].update(evidence="김장대전"))
    problem = next(p for p in problems_of(seeds) if p.record == "places[gwangju-kimchi-town]")
    assert problem.field == "sources[0].evidence"
    assert "stands 6 times in the text of the source" in problem.message and "line 53, column" in problem.message
    assert "quote more words" in problem.message


def test_every_quote_has_its_span_in_the_page_and_its_sentence(seed_set):
    page = (SEEDS / "pages" / PAGE_FILE).read_text(encoding="utf-8")
    quoted = [c for e in seed_set.entries.values() for c in e.data["sources"]] + [c for _, _, c in seed_set.citations]
    assert len(quoted) > 200
    for citation in quoted:
        span = citation["span"]
        assert squash(page[span.start : span.end]) == squash(citation["evidence"]), citation
        context = span.context
        assert squash(context["text"][context["start"] : context["end"]]) == squash(citation["evidence"])
        # the quote and at most CONTEXT_MARGIN on each side, and a '…' at each end at most:
        # the contexts must not republish the page around the quotes
        assert len(context["text"]) <= len(page[span.start : span.end]) + 2 * CONTEXT_MARGIN + 2


def test_a_long_sentence_is_cut_around_the_quote_at_spaces_and_marked():
    page = Page.read(SEEDS / "pages", PAGE_FILE)
    text = text_of(page, {"first": 33, "last": 33})  # the AI agency head's 207-character sentence
    start = page.text.index("헬스케어 분야의 선두주자가")
    context = text.context(start, start + len("헬스케어 분야의 선두주자가"), limit=60)
    assert context["text"].startswith("…") and context["text"].endswith("…")
    assert len(context["text"]) <= 62
    assert context["text"][context["start"] : context["end"]] == "헬스케어 분야의 선두주자가"
    assert " " not in (context["text"][1], context["text"][-2])  # cut at spaces, not inside words
    assert page.text[start - len(context["text"][1 : context["start"]]) - 1] == " "
    whole = text.context(start, start + 4, limit=1000)
    assert whole["text"] == page.text[page.line_starts[32] : page.line_starts[33]].strip()
    bounded = text.context(start, start + 4)  # by default the quote and CONTEXT_MARGIN each side
    assert len(bounded["text"]) <= 4 + 2 * CONTEXT_MARGIN + 2 and bounded["text"].startswith("…")


# --- two pages ----------------------------------------------------------------------------------


def test_two_pages_load_each_quote_placed_in_its_own_page(tmp_path):
    seeds = read_seeds(with_second_page(tmp_path))
    second = (SECOND / "pages" / "900_synthetic_briefing.txt").read_text(encoding="utf-8")
    figure = seeds.entries["synthetic-citizens-briefing-participants"]
    for citation in figure.data["sources"]:
        assert squash(second[citation["span"].start : citation["span"].end]) == squash(citation["evidence"])
    first = (SEEDS / "pages" / PAGE_FILE).read_text(encoding="utf-8")
    festival = seeds.entries["kimjang-festival-2023"].data["sources"][0]
    assert squash(first[festival["span"].start : festival["span"].end]) == squash(festival["evidence"])


@pytest.mark.parametrize(
    ("file", "section", "record_id", "quote", "cited_to", "stands_in"),
    [
        # true on the real page, cited to the synthetic one
        (
            "08_synthetic_briefing.yaml",
            "figures",
            "synthetic-citizens-briefing-participants",
            "1만2000여명이 참여해",
            "synthetic-briefing-article",
            "kimjang-festival-article",
        ),
        # true on the synthetic page, cited to the real one
        (
            "03_kimjang_festival.yaml",
            "figures",
            "kimjang-festival-2023-participants",
            "시민 120여명이 참여했다고",
            "kimjang-festival-article",
            "synthetic-briefing-article",
        ),
    ],
    ids=["real-quote-cited-to-the-synthetic-page", "synthetic-quote-cited-to-the-real-page"],
)
def test_a_quote_true_on_one_page_and_cited_to_the_other_is_refused_naming_the_record_and_the_source(
    tmp_path, file, section, record_id, quote, cited_to, stands_in
):
    seeds = with_second_page(tmp_path)
    change(seeds / file, section, record_id, lambda r: r["sources"][0].update(evidence=quote))
    problems = [p for p in problems_of(seeds) if p.field == "sources[0].evidence"]
    assert [(pathlib.Path(p.file).name, p.record) for p in problems] == [(file, f"{section}[{record_id}]")]
    assert f"of source {cited_to!r} is not verbatim in the text of the source" in problems[0].message
    assert f"it stands in the text of {stands_in}" in problems[0].message


# --- nothing beside the repository ------------------------------------------------------------


@pytest.mark.slow
def test_the_seeds_check_and_load_with_nothing_beside_them_and_a_broken_quote_is_refused(tmp_path):
    # as in a fresh clone without ../shared: the seeds folder alone, somewhere else
    seeds = copy(SEEDS, tmp_path / "elsewhere")
    result = civicfacts("check", seeds, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "seeds are valid" in result.stdout and result.stderr == ""
    database = f"sqlite:///{tmp_path / 'civicfacts.db'}"
    assert civicfacts("migrate", "--database", database, cwd=tmp_path).returncode == 0
    loaded = civicfacts("load", "--database", database, seeds, cwd=tmp_path)
    assert loaded.returncode == 0 and "loaded dataset" in loaded.stdout, loaded.stderr

    article = seeds / "03_kimjang_festival.yaml"
    article.write_text(article.read_text(encoding="utf-8").replace('"1만2000여명이 참여해"', '"1만3000여명이 참여해"'), encoding="utf-8")
    result = civicfacts("check", seeds, cwd=tmp_path)
    assert result.returncode == 1
    assert "figures[kimjang-festival-2023-participants]: sources[0].evidence: evidence '1만3000여명이 참여해'" in result.stderr
    assert "is not verbatim in the text of the source" in result.stderr


# --- what the API serves ----------------------------------------------------------------------


def test_a_source_names_its_page_and_its_hash_but_the_page_is_not_served(client):
    source = client.get("/v1/sources/kimjang-festival-article").get_json()["data"]
    page = (SEEDS / "pages" / source["page"]["file"]).read_bytes()
    assert hashlib.sha256(page).hexdigest() == source["page"]["sha256"]
    for url in ("/v1/sources/kimjang-festival-article/text", f"/v1/pages/{PAGE_FILE}", f"/seeds/pages/{PAGE_FILE}"):
        response = client.get(url)
        assert response.status_code == 404 and response.mimetype == "application/problem+json", url


def test_each_citation_is_served_with_its_span_and_sentence(client):
    text = (SEEDS / "pages" / PAGE_FILE).read_text(encoding="utf-8")
    figure = client.get("/v1/figures/kimjang-festival-2022-sales-amount").get_json()["data"]
    (citation,) = figure["sources"]
    assert text[citation["start"] : citation["end"]] == citation["evidence"] == "지난해 판매금액 11억원보다도 33.6%나 증가했다는 게 광주시의 설명이다"
    assert citation["context"] == {
        "text": "2014년 김장대전을 시작한 이후 역대 최고 실적으로, 지난해 판매금액 11억원보다도 33.6%나 증가했다는 게 광주시의 설명이다.",
        "start": 31,
        "end": 72,
    }


def test_a_load_that_rewrites_a_dated_event_keeps_its_announcement(loaded, tmp_path):
    # a partial load rewrites only what changed; an event's announcement is set like a parent
    from api.ingest.load import load
    from api.store import models as m
    from api.store.db import open_database

    seeds = copy(SEEDS, tmp_path)
    change(seeds / "02_sme_special_support_briefing.yaml", "events", "sme-special-support-area-briefing-2023", lambda e: e.update(note="Changed."))
    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        dataset = load(read_seeds(seeds), database, publish=False)
        assert (dataset.changed, dataset.added, dataset.removed) == (1, 0, 0)
        briefing = m.Event.get_by_id("sme-special-support-area-briefing-2023")
        assert (briefing.note, briefing.dated_from_id) == ("Changed.", "sme-briefing-announcement-2023-12-17")
        body = m.Document.get((m.Document.record_type == "event") & (m.Document.record_id == briefing.id)).body
    database.close()
    assert b'"dated_from":{"type":"event","id":"sme-briefing-announcement-2023-12-17"}' in bytes(body)
