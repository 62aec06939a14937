"""Every number on the page is accounted for, every name a record claims is printed (or says
why not), and the articles' statements are records that dated records point to.

Unit cases for the token pattern (api/ingest/tokens.py) and the rank in words
(api/ingest/arithmetic.py); seed-level cases break a copy of the minimal set, or of the real
seeds, and name the problem the loader must report.
"""

import datetime
import pathlib
import shutil
import subprocess
import sys
from decimal import Decimal

import pytest
import yaml

from api.ingest.arithmetic import check_value_text
from api.ingest.pages import Page, text_of
from api.ingest.read import SeedError, read_seeds
from api.ingest.tokens import NUMBER_TOKEN, Token, tokens

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
MINIMAL = ROOT / "tests" / "seed_faults" / "minimal"
KIMJANG = "01_kimjang_festival.yaml"
MARKET = "02_small_business_online_market.yaml"


@pytest.fixture
def seeds_dir(tmp_path):
    return pathlib.Path(shutil.copytree(MINIMAL, tmp_path / "seeds"))


def edit(path, change):
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")


def record(document, section, record_id):
    return next(r for r in document[section] if r["id"] == record_id)


def problems_of(seeds_dir):
    with pytest.raises(SeedError) as caught:
        read_seeds(seeds_dir)
    return caught.value.problems


def where(problems):
    return sorted((pathlib.Path(p.file).name, p.record, p.field) for p in problems)


# --- the token pattern ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("역대 최대 14억7000만원 판매", ["14억7000만원"]),
        ("218t(14억 7000만원 상당)", ["218t", "14억 7000만원"]),
        ("1만2000여명이 참여해", ["1만2000여명"]),
        ("평동1·2차 및 평동3차", ["1·2차", "3차"]),
        ("“제5회 전국 지방자치단체", ["제5회"]),
        ("경제2회", ["2회"]),  # no 제 from inside a word
        ("인구 10만명당 101.3개소로", ["10만명당", "101.3개소"]),
        ("2021년말 기준", ["2021년말"]),
        ("33.6%나 증가", ["33.6%"]),
        ("1,523개 제품", ["1,523개 제품"]),
        ("2023.12.17. 발표", ["2023.12.17."]),
        ("10~20명", ["10~20명"]),
        ("수억원과 삼천만원", ["수억원", "삼천만원"]),
        ("3D 5G CO2 A4 V커머스 TV광고", []),
        ("lucky@kwangju.co.kr", []),
        ("만족도 한국 조원들 수원시 일조했다", []),
    ],
)
def test_the_token_pattern_finds_numbers_and_nothing_else(text, found):
    assert [m.group() for m in NUMBER_TOKEN.finditer(text)] == found


def test_the_page_holds_51_number_like_tokens():
    # the inventory of docs: every one of them is accounted for by the seeds (test below)
    page = Page.read(SEEDS / "pages", "000_f27f502ecff37551.txt")
    found = tokens(text_of(page, None))
    assert len(found) == 51
    assert [t.text for t in found].count("17일") == 6  # one statement a day in each of articles 1 to 6


@pytest.mark.parametrize(
    ("text", "day", "is_it"),
    [
        ("17일", "2023-12-17", True),
        ("17일", "2023-11-17", True),
        ("14일", "2023-12-17", False),
        ("11월", "2023-11-30", True),
        ("2021년말", "2021-12-31", True),
        ("2021년말", "2021-06-30", False),
        ("2014년", "2014-03-01", True),
        ("2023.12.17.", "2023-12-17", True),
        ("2023.12.17.", "2023-12-18", False),
        ("17개", "2023-12-17", False),
    ],
)
def test_a_date_token_is_read_against_a_date(text, day, is_it):
    assert Token(0, len(text), text).is_date_of(datetime.date.fromisoformat(day)) is is_it


# --- every number accounted for ------------------------------------------------------------------


def test_the_real_seeds_account_for_every_number_on_the_page(seed_set):
    # read_seeds runs the coverage check: that the real seeds read at all is the proof; the
    # two acknowledged tokens are the denominators of two measures, each with its reason
    assert sorted(a["token"] for _, _, a in seed_set.acknowledged) == ["10만명당", "1인당"]
    assert all(a["reason"].strip() for _, _, a in seed_set.acknowledged)


def test_check_fails_when_a_figure_is_deleted_naming_the_number_and_where_it_stands(tmp_path):
    seeds = pathlib.Path(shutil.copytree(SEEDS, tmp_path / "seeds"))
    edit(seeds / "03_kimjang_festival.yaml", lambda d: d["figures"].remove(record(d, "figures", "kimjang-unesco-inscription-anniversary")))
    result = subprocess.run([sys.executable, "-m", "api.cli", "check", seeds], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"{seeds}/03_kimjang_festival.yaml: sources[kimjang-festival-article]: page: the number '10주년' at line 61, column 105 "
        "of pages/000_f27f502ecff37551.txt is accounted for by no figure, date or name, nor acknowledged "
        "('…동시에 이끌어 냈으며, 김장문화 유네스코 인류무형문화유산 등재 10주년을 맞아 가족사진 제공, 김치냉장고 경품 이벤트, 먹거리 부스 운영…')"
    )
    assert result.stderr.splitlines()[-1] == "1 problem(s); nothing was loaded"


def test_a_date_accounts_for_its_day_and_a_missing_date_does_not(seeds_dir):
    # the festival's dates account for '22일' and '10일' (지난달 22일부터 지난 10일까지)
    edit(seeds_dir / KIMJANG, lambda d: record(d, "events", "kimjang-festival-2023").update(start_date=None))
    (problem,) = problems_of(seeds_dir)
    assert (problem.record, problem.field) == ("sources[kimjang-festival-article]", "page")
    assert "the number '22일' at line 55" in problem.message


def test_a_number_read_wrong_does_not_account_for_the_print(seeds_dir):
    # the figure is there and quotes the token, but reads another number: both are reported
    edit(seeds_dir / KIMJANG, lambda d: record(d, "figures", "kimjang-festival-2022-sales-amount").update(value_text="12억원", value=1200000000))
    assert where(problems_of(seeds_dir)) == [
        (KIMJANG, "figures[kimjang-festival-2022-sales-amount]", "value_text"),  # not as printed
        (KIMJANG, "figures[kimjang-festival-2023-sales-growth]", "comparisons"),  # and the growth no longer follows
        (KIMJANG, "sources[kimjang-festival-article]", "page"),  # '11억원' is nobody's
    ]


def test_an_unneeded_acknowledgement_is_refused_and_a_missing_one_reported(seeds_dir):
    def change(document):
        document["acknowledged"].append({"token": "1만2000여명", "evidence": "1만2000여명이 참여해", "reason": "no reason"})
        document["acknowledged"] = [a for a in document["acknowledged"] if a["token"] != "218t"]

    edit(seeds_dir / KIMJANG, change)
    problems = problems_of(seeds_dir)
    assert where(problems) == [(KIMJANG, "acknowledged[5]", "token"), (KIMJANG, "sources[kimjang-festival-article]", "page")]
    by_field = {p.field: p.message for p in problems}
    assert "accounted for by figure kimjang-festival-2023-participants: the acknowledgement is not needed" in by_field["token"]
    assert "the number '218t'" in by_field["page"]


@pytest.mark.parametrize(
    ("acknowledgement", "field", "says"),
    [
        ({"token": "218t", "evidence": "1만2000여명이 참여해"}, "token", "no number-like token '218t' in that quote (it holds: '1만2000여명')"),
        ({"token": "218t", "evidence": "역대 최고실적인 219t"}, "evidence", "is not verbatim in the text of the source"),
        ({"token": "218t", "evidence": "역대 최고실적인 218t", "reason": ""}, "reason", "Shorter than minimum length 1"),
    ],
    ids=["token-not-in-its-quote", "quote-not-on-the-page", "no-reason"],
)
def test_an_acknowledgement_must_name_a_token_of_its_quote_and_a_reason(seeds_dir, acknowledgement, field, says):
    edit(seeds_dir / KIMJANG, lambda d: d["acknowledged"][0].update(acknowledgement))
    problem = next(p for p in problems_of(seeds_dir) if p.record == "acknowledged[0]")
    assert problem.field == field and says in problem.message


def test_numbers_wait_for_a_file_whose_records_do_not_validate_and_say_so(seeds_dir):
    # a figure that does not validate drops out; its number would look unaccounted for
    edit(seeds_dir / KIMJANG, lambda d: record(d, "figures", "kimjang-festival-2023-participants").update(value="many"))
    with pytest.raises(SeedError) as caught:
        read_seeds(seeds_dir)
    assert where(caught.value.problems) == [(KIMJANG, "figures[kimjang-festival-2023-participants]", "value")]
    assert caught.value.waiting == [
        "every number on the page of kimjang-festival-article (01_kimjang_festival.yaml) is accounted for, once the problems in that file are fixed"
    ]
    assert "not checked yet: every number on the page of kimjang-festival-article" in str(caught.value)


# --- names as printed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "record_id", "update", "field", "says"),
    [
        ("places", "gwangju-kimchi-town", {"name": {"ko": "광주 김치마을", "en": "x", "en_translated": True}}, "name.ko", "is not printed"),
        ("places", "gwangju-kimchi-town", {"other_names": ["김치마을"]}, "other_names[0]", "is not printed"),
        (
            "places",
            "gwangju-kimchi-town",
            {"name": {"ko": "광주김치타운", "en": "x", "en_translated": True, "ko_form": "official"}},
            "name.ko_form",
            "drop ko_form",
        ),
        ("organisations", "gwangju-metropolitan-city", {"other_names": []}, "other_names", "must keep the printed form"),
        ("organisations", "kwangju-ilbo", {"note": None}, "note", "must say where the name comes from"),
        ("figures", "kimjang-festival-2023-participants", {"value_text": "1만2000명", "qualifier": "exact"}, "value_text", "is not in any quote"),
    ],
    ids=[
        "not-printed",
        "other-name-not-printed",
        "said-unprinted-but-printed",
        "official-without-the-print",
        "unprinted-without-a-note",
        "value-text-not-printed",
    ],
)
def test_a_name_is_printed_or_says_why_not(seeds_dir, section, record_id, update, field, says):
    file = MARKET if record_id.startswith("online") else KIMJANG
    edit(seeds_dir / file, lambda d: record(d, section, record_id).update(update))
    problem = next(p for p in problems_of(seeds_dir) if p.record == f"{section}[{record_id}]")
    assert problem.field == field and says in problem.message, problem


def test_a_name_inside_a_longer_word_is_not_printed(tmp_path):
    # 국세청 stands only inside 광주지방국세청 in article 2 (the page prints the misprint 국제청):
    # said to be printed, it is refused
    seeds = pathlib.Path(shutil.copytree(SEEDS, tmp_path / "seeds"))
    article = seeds / "02_sme_special_support_briefing.yaml"
    edit(article, lambda d: record(d, "organisations", "national-tax-service")["name"].pop("ko_form"))
    assert "▲국제감면제도(광주지방국세청)" in (seeds / "pages" / "000_f27f502ecff37551.txt").read_text(encoding="utf-8")
    (problem,) = problems_of(seeds)
    assert (problem.record, problem.field) == ("organisations[national-tax-service]", "name.ko")
    assert "'국세청' is not printed" in problem.message


# --- statements ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "record_id", "update", "field", "says"),
    [
        (
            "figures",
            "online-market-supported-companies",
            {"dated_from": "online-market-support-2023"},
            "dated_from",
            "is a festival, not an announcement",
        ),
        ("figures", "online-market-supported-companies", {"dated_from": "no-such-event"}, "dated_from", "unknown reference"),
        ("events", "online-market-announcement", {"start_date": "2023-12-19", "end_date": "2023-12-19"}, "start_date", "is after"),
        ("events", "online-market-announcement", {"end_date": "2023-12-18"}, "end_date", "one day"),
    ],
    ids=["not-an-announcement", "unknown", "after-the-article", "more-than-a-day"],
)
def test_an_announcement_is_one_day_before_its_article_and_dates_what_points_to_it(seeds_dir, section, record_id, update, field, says):
    edit(seeds_dir / MARKET, lambda d: record(d, section, record_id).update(update))
    problem = next(p for p in problems_of(seeds_dir) if p.record == f"{section}[{record_id}]")
    assert problem.field == field and says in problem.message, problem


def test_a_record_cannot_be_dated_from_a_statement_its_sources_do_not_report(seeds_dir):
    edit(seeds_dir / KIMJANG, lambda d: record(d, "figures", "kimjang-festival-2022-sales-amount").update(dated_from="online-market-announcement"))
    (problem,) = problems_of(seeds_dir)
    assert (problem.record, problem.field) == ("figures[kimjang-festival-2022-sales-amount]", "dated_from")
    assert "is reported by no source this record cites" in problem.message


def test_the_real_statements_date_what_depends_on_them(seed_set):
    announcements = {e.data["id"] for e in seed_set.records("events") if e.data["kind"] == "announcement"}
    assert len(announcements) == 6
    dated = {e.data["id"]: e.data["dated_from"] for e in seed_set.entries.values() if e.data.get("dated_from")}
    assert set(dated.values()) == announcements
    assert dated["ai-healthcare-digital-twin-mou-2023"] == "ai-agency-announcement-2023-12-17"
    assert dated["small-business-online-support-companies-2023"] == "online-market-announcement-2023-12-17"


# --- a rank said in words ------------------------------------------------------------------------


def rank(text, **overrides):
    return {"value": Decimal(1), "unit": "rank", "value_text": text, "qualifier": "exact", "value_in_words": True, **overrides}


@pytest.mark.parametrize(
    ("figure", "holds"),
    [
        (rank("특·광역시 중 가장 많으며"), True),
        (rank("전국 최다"), True),
        (rank("특·광역시 중 두 번째로 많으며"), False),  # not 'first'
        (rank("가장 많은 3곳"), False),  # digits: then it is no rank in words
        (rank("가장 많으며", unit="company"), False),
        (rank("가장 많으며", value=Decimal(2)), False),
        (rank("가장 많으며", qualifier="at_least"), False),
    ],
)
def test_a_rank_in_words_reads_as_first_only(figure, holds):
    assert check_value_text(figure).holds is holds


# --- a benefit given through named schemes -------------------------------------------------------


def test_a_benefit_links_to_schemes_that_exist(seeds_dir):
    edit(
        seeds_dir / MARKET,
        lambda d: record(d, "programmes", "small-business-online-market-support")["benefits"][0].update(
            programmes=["no-such-scheme", "digital-capability-training"]
        ),
    )
    (problem,) = problems_of(seeds_dir)
    assert (problem.record, problem.field) == ("programmes[small-business-online-market-support]", "benefits[0].programmes[0]")
    assert "unknown reference 'no-such-scheme'" in problem.message


def test_the_real_funding_benefit_names_its_two_schemes(seed_set):
    scheme = seed_set.entries["sme-special-support-area-scheme"].data
    (funding,) = [b for b in scheme["benefits"] if b["programmes"]]
    assert funding["ko"] == "긴급경영안정자금·기술보증기금 보증 등 자금지원 우대"
    assert funding["programmes"] == ["emergency-management-stabilisation-fund", "kotec-technology-guarantee"]
    assert seed_set.entries["kotec-technology-guarantee"].data["operators"] == [
        {"organisation": "korea-technology-finance-corporation", "role": "operator"}
    ]
