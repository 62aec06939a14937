"""The server-drawn SVG charts, on made-up figures: bars to scale, text alternatives in both
languages, names escaped, and nothing drawn where there is nothing to draw."""

import yaml

from api.formats.charts import UNGROUPED_UNITS, comparison_chart, number_text, parts_chart
from tests.html_page import parse
from tests.support import ROOT


def figure(figure_id, value, value_text, ko="이름", en="name"):
    return {"id": figure_id, "value": value, "value_text": value_text, "name": {"ko": ko, "en": en, "en_translated": True}}


def bars(chart):
    return [float(r.attrs["width"]) for r in parse(str(chart.svg)).find_all("rect", class_="bar")]


def test_parts_are_stacked_against_their_total_to_scale():
    whole = figure("whole", 100, "100명")
    parts = [figure("a", 60, "60명", "가", "A"), figure("b", 40, "40명", "나", "B")]
    chart = parts_chart(whole, parts)
    total, first, second, alone_a, alone_b = bars(chart)
    assert first + second == total and alone_a == first and alone_b == second
    assert first / second == 60 / 40
    assert chart.rows[-1] == ("부분의 합", "Sum of the parts", "", 100)
    desc = parse(str(chart.svg)).find("desc").text()
    assert "합계와 같음" in desc and "equal to the total" in desc


def test_parts_that_do_not_add_up_are_shown_so_and_said_so():
    chart = parts_chart(figure("whole", 100, "100명"), [figure("a", 30, "30명"), figure("b", 30, "30명")])
    total, first, second, *_ = bars(chart)
    assert first + second == 0.6 * total
    assert "not equal to the total" in parse(str(chart.svg)).find("desc").text()


def test_a_comparison_draws_both_values_on_one_scale():
    rate = figure("rate", 50, "50%", "증가율", "Growth")
    chart = comparison_chart(rate, figure("before", 200, "200원"), figure("after", 300, "300원"))
    before, after = bars(chart)
    assert before == round(500 * 200 / 300, 1) and after == 500  # the larger value takes the full width
    svg = parse(str(chart.svg)).find("svg")
    title_id, desc_id = svg.attrs["aria-labelledby"].split()
    assert svg.find("title").attrs["id"] == title_id and svg.find("desc").attrs["id"] == desc_id
    assert "200원" in svg.find("desc").text() and "300원" in svg.find("desc").text()


def test_names_are_escaped_not_markup():
    chart = parts_chart(figure("w", 2, "2"), [figure("p", 2, "2", "<b>굵게</b>", "Tom & Jerry")])
    assert "<b>" not in str(chart.svg) and "&lt;b&gt;" in str(chart.svg) and "Tom &amp; Jerry" in str(chart.svg)


def test_nothing_to_draw_draws_nothing():
    assert parts_chart(figure("w", 10, "10"), []) is None
    assert parts_chart(figure("w", None, "?"), [figure("p", 1, "1")]) is None
    assert comparison_chart(figure("r", 5, "5%"), figure("b", None, "?"), figure("c", 1, "1")) is None


def test_numbers_are_written_with_thousands_separators_and_no_trailing_zeros():
    assert number_text(1470000000) == "1,470,000,000"
    assert number_text(33.60) == "33.6"
    assert number_text(None) == ""


# Every unit of the vocabulary, on one side or the other: amounts take thousands separators,
# years and places in a series do not ("2014 년", "1,000 위" would misread).
AMOUNTS = {"KRW", "t", "kg", "person", "company", "product", "organisation", "local_government", "indicator", "field", "percent", "layer"}
AMOUNTS |= {"per_100k_population"}
LABELS = {"year", "rank", "edition", "anniversary"}


def test_every_unit_of_the_vocabulary_is_written_as_people_read_it():
    vocabulary = yaml.safe_load((ROOT / "seeds" / "vocabulary.yaml").read_text(encoding="utf-8"))
    units = {unit["code"] for unit in vocabulary["units"]}
    assert units == AMOUNTS | LABELS, f"decide whether these take thousands separators: {units ^ (AMOUNTS | LABELS)}"
    assert UNGROUPED_UNITS == LABELS
    for unit in units:
        assert number_text(12345, unit) == ("12345" if unit in LABELS else "12,345"), unit
        assert number_text(2014.50, unit) == ("2014.5" if unit in LABELS else "2,014.5"), unit
