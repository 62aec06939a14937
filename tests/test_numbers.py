"""Tests for api.ingest.numbers: every number printed on the source page, the errors, round trips."""

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from api.ingest.numbers import (
    UNIT_WORDS,
    NumberFormatError,
    ParsedNumber,
    parse,
    to_korean,
    unit_for_suffix,
)

# (text as printed, value, qualifier, prefix, suffix)
PRINTED_ON_THE_PAGE = [
    ("14억7000만원", 1470000000, "exact", "", "원"),
    ("14억 7000만원", 1470000000, "exact", "", "원"),
    ("최대 14억7000만원", 1470000000, "exact", "최대", "원"),
    ("1만2000여명", 12000, "at_least", "", "명"),
    ("218t", 218, "exact", "", "t"),
    ("11억원", 1100000000, "exact", "", "원"),
    ("33.6%", Decimal("33.6"), "exact", "", "%"),
    ("50여", 50, "at_least", "", ""),
    ("50여 기관", 50, "at_least", "", "기관"),
    ("총 50여의", 50, "at_least", "총", "의"),
    ("70여명", 70, "at_least", "", "명"),
    ("총 70여명", 70, "at_least", "총", "명"),
    ("2700kg", 2700, "exact", "", "kg"),
    ("243개", 243, "exact", "", "개"),
    ("243개 지방자치단체", 243, "exact", "", "개 지방자치단체"),
    ("4개 분야", 4, "exact", "", "개 분야"),
    ("17개 지표", 17, "exact", "", "개 지표"),
    ("101.3개소", Decimal("101.3"), "exact", "", "개소"),
    ("9676만원", 96760000, "exact", "", "원"),
    ("5위", 5, "exact", "", "위"),
    ("전국 5위", 5, "exact", "전국", "위"),
    ("716개사", 716, "exact", "", "개사"),
    ("1523개 제품", 1523, "exact", "", "개 제품"),
    ("159개사", 159, "exact", "", "개사"),
    ("25개사", 25, "exact", "", "개사"),
    ("190개사", 190, "exact", "", "개사"),
    ("254개사", 254, "exact", "", "개사"),
    ("58개사", 58, "exact", "", "개사"),
    ("30개사", 30, "exact", "", "개사"),
    ("2014년", 2014, "exact", "", "년"),
    ("제5회", 5, "exact", "제", "회"),
    ("제2회", 2, "exact", "제", "회"),
    ("10주년", 10, "exact", "", "주년"),
    ("7중", 7, "exact", "", "중"),
]


@pytest.mark.parametrize(("text", "value", "qualifier", "prefix", "suffix"), PRINTED_ON_THE_PAGE)
def test_reads_every_number_printed_on_the_page(text, value, qualifier, prefix, suffix):
    parsed = parse(text)
    assert parsed.value == Decimal(value)
    assert (parsed.qualifier, parsed.prefix, parsed.suffix) == (qualifier, prefix, suffix)


@pytest.mark.parametrize(
    ("text", "value", "number_text"),
    [
        ("3천만", 30000000, "3천만"),
        ("3천5백만", 35000000, "3천5백만"),
        ("1억5천", 100005000, "1억5천"),
        ("5천3만", 50030000, "5천3만"),
        ("1조 2,345억", 1234500000000, "1조 2,345억"),
        ("2.5억", 250000000, "2.5억"),
        ("1만2345.67", Decimal("12345.67"), "1만2345.67"),
        ("1,523", 1523, "1,523"),
        ("12,000만원", 120000000, "12,000만"),
        ("１，５２３개", 1523, "1,523"),
        ("33.60%", Decimal("33.6"), "33.60"),
    ],
)
def test_reads_unit_mixes_commas_and_decimals(text, value, number_text):
    parsed = parse(text)
    assert parsed.value == Decimal(value)
    assert parsed.number_text == number_text


def test_whole_numbers_have_no_fractional_part():
    assert parse("2.5억").value.as_tuple().exponent == 0
    assert str(parse("14억 7000만원").value) == "1470000000"
    assert str(parse("33.60%").value) == "33.6"


def test_units_after_the_ordinal_prefix_are_counters():
    parsed = parse("제5조")
    assert (parsed.value, parsed.prefix, parsed.suffix) == (5, "제", "조")


@pytest.mark.parametrize(
    ("text", "qualifier"),
    [
        ("100명 이상", "at_least"),
        ("100명이상", "at_least"),
        ("100명 초과", "at_least"),
        ("100명 이하", "at_most"),
        ("100만원 미만", "at_most"),
        ("3시간 가량", "approximate"),
        ("5억원가량", "approximate"),
        ("10% 정도", "approximate"),
        ("3시쯤", "approximate"),
        ("약 5명", "approximate"),
        ("약5명", "approximate"),
        ("대략 5명", "approximate"),
        ("계약 5건", "exact"),
        ("약 50여명", "at_least"),
        ("50여명 이하", "at_most"),
        ("5명이 참석했고 이상은 없다", "exact"),
    ],
)
def test_qualifier_words(text, qualifier):
    assert parse(text).qualifier == qualifier


def error_for(text: str) -> NumberFormatError:
    with pytest.raises(NumberFormatError) as caught:
        parse(text)
    return caught.value


def test_error_empty_text():
    error = error_for("   ")
    assert "empty" in str(error)


def test_error_no_digits():
    error = error_for("원")
    assert str(error).startswith("no digits") and error.position == 0


def test_error_bare_unit_is_not_ten_thousand():
    error = error_for("만명")
    assert "'만' has no number before it" in str(error) and "'1만'" in str(error)


def test_error_two_numbers():
    error = error_for("14억 7000만원 11억원")
    assert "second number" in str(error) and error.position == 11


def test_error_number_inside_the_suffix():
    assert "second number follows '218'" in str(error_for("218t(14억 7000만원"))


def test_error_space_inside_a_group_below_man():
    assert "second number" in str(error_for("3천 5백만"))


def test_error_malformed_commas():
    error = error_for("1,52,3원")
    assert "thousands separators in '1,52,3'" in str(error) and error.position == 0


def test_error_units_out_of_order():
    error = error_for("7000만 14억")
    assert "out of order: '14억' cannot follow '7000만'" in str(error) and error.position == 6


def test_error_group_too_large_after_a_larger_unit():
    assert "'17000만' is too large to follow '14억'" in str(error_for("14억 17000만원"))


def test_error_small_units_out_of_order():
    assert "descending order" in str(error_for("3백5천만"))


def test_error_decimal_point_before_the_last_part():
    assert "decimal point" in str(error_for("2.5억 3000만"))


def test_error_stray_separator():
    assert "stray separator" in str(error_for("12.5.3"))


def test_error_number_starting_with_a_separator():
    assert "may not start with '.'" in str(error_for(".5%"))


def test_error_negative_number():
    assert "negative" in str(error_for("-5%"))


def test_error_message_shows_the_text_and_the_position():
    assert str(error_for("7000만 14억")).endswith("(at position 6 in '7000만 14억')")


def test_parsed_number_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse("5위").value = Decimal(6)
    assert isinstance(parse("5위"), ParsedNumber)


@pytest.mark.parametrize(
    ("value", "spaced", "commas", "written"),
    [
        (1470000000, False, False, "14억7000만"),
        (1470000000, True, False, "14억 7000만"),
        (1470000000, True, True, "14억 7,000만"),
        (12000, False, False, "1만2000"),
        (96760000, False, False, "9676만"),
        (1234500000000, False, False, "1조2345억"),
        (1234500000000, True, True, "1조 2,345억"),
        (10**16, False, True, "10,000조"),
        (0, False, False, "0"),
        (1523, False, True, "1,523"),
        (Decimal("101.3"), False, False, "101.3"),
        (101.3, False, False, "101.3"),
        (Decimal("12345.670"), False, True, "12,345.67"),
        (Decimal("2.5E+8"), False, False, "2억5000만"),
    ],
)
def test_to_korean(value, spaced, commas, written):
    assert to_korean(value, spaced=spaced, commas=commas) == written


@pytest.mark.parametrize(
    ("value", "error"),
    [(-1, ValueError), (Decimal("NaN"), ValueError), (float("inf"), ValueError), (True, TypeError), ("5", TypeError)],
)
def test_to_korean_rejects(value, error):
    with pytest.raises(error):
        to_korean(value)


@pytest.mark.parametrize(
    ("suffix", "unit"),
    [
        ("원", "KRW"),
        ("t", "t"),
        ("kg", "kg"),
        ("명", "person"),
        ("개사", "company"),
        ("%", "percent"),
        ("위", "rank"),
        ("년", "year"),
        ("회", "edition"),
        ("주년", "anniversary"),
        ("중", "layer"),
        ("개 제품", "product"),
        ("개  지방자치단체", "local_government"),
        ("개사의", "company"),
        ("원으로", "KRW"),
        ("명 이상", "person"),
        ("위원회", None),
        ("개", None),
        ("", None),
    ],
)
def test_unit_for_suffix(suffix, unit):
    assert unit_for_suffix(suffix) == unit


SUFFIXES = ["", "원", "명", "개사", "t", "kg", "%", "위", "년", "회", "주년", "중", "개소", " 개 제품", " 개 지방자치단체", " 명 "]
whole_numbers = st.integers(min_value=0, max_value=10**16)


@settings(max_examples=300, deadline=None)
@given(whole_numbers, st.booleans(), st.booleans(), st.sampled_from(SUFFIXES))
@example(1470000000, True, False, "원")
@example(100000001, False, True, "t")
def test_whole_numbers_round_trip(number, spaced, commas, suffix):
    written = to_korean(number, spaced=spaced, commas=commas)
    parsed = parse(written + suffix)
    assert parsed == ParsedNumber(Decimal(number), "exact", written, "", suffix.strip())


@settings(max_examples=300, deadline=None)
@given(st.decimals(min_value=0, max_value=10**13, places=2), st.booleans(), st.sampled_from(SUFFIXES))
def test_decimals_round_trip(number, commas, suffix):
    assert parse(to_korean(number, commas=commas) + suffix).value == number


def spelled_with_small_units(group: int) -> str:
    """Write 0 < group < 10000 with 천/백/십, as in '3천5백2십1'."""
    digits = [(group // 1000, "천"), (group // 100 % 10, "백"), (group // 10 % 10, "십"), (group % 10, "")]
    return "".join(f"{digit}{unit}" for digit, unit in digits if digit)


@settings(max_examples=300, deadline=None)
@given(whole_numbers.filter(bool), st.booleans())
def test_small_units_inside_groups(number, spaced):
    remaining, groups = number, []
    for unit, size in (("조", 10**12), ("억", 10**8), ("만", 10**4), ("", 1)):
        coefficient, remaining = divmod(remaining, size)
        if coefficient:
            # Only the 조 group can reach 10000, and 천 cannot spell that.
            spelled = str(coefficient) if coefficient >= 10000 else spelled_with_small_units(coefficient)
            groups.append(spelled + unit)
    assert parse((" " if spaced else "").join(groups) + "명").value == number


@settings(max_examples=300, deadline=None)
@given(whole_numbers, st.sampled_from(SUFFIXES))
def test_yeo_means_at_least(number, suffix):
    parsed = parse(to_korean(number) + "여" + suffix)
    assert (parsed.value, parsed.qualifier) == (number, "at_least")


@settings(max_examples=300, deadline=None)
@given(whole_numbers, st.sampled_from(["약", "약 ", "총 약 "]), st.sampled_from(SUFFIXES))
def test_yak_means_approximate(number, prefix, suffix):
    parsed = parse(prefix + to_korean(number, spaced=True) + suffix)
    assert (parsed.value, parsed.qualifier, parsed.prefix) == (number, "approximate", prefix.strip())


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=9999),
    st.integers(min_value=1, max_value=9999),
    st.sampled_from([("만", "억"), ("만", "조"), ("억", "조"), ("만", "만")]),
)
def test_groups_out_of_order_are_rejected(low, high, units):
    with pytest.raises(NumberFormatError, match="out of order"):
        parse(f"{low}{units[0]} {high}{units[1]}")


def parses_or_fails_cleanly(text: str) -> None:
    try:
        parsed = parse(text)
    except NumberFormatError as error:
        assert str(error)
        return
    assert parsed.value >= 0
    assert parsed.qualifier in {"exact", "approximate", "at_least", "at_most"}
    assert parse(to_korean(parsed.value)).value == parsed.value


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_only_number_format_error(text):
    parses_or_fails_cleanly(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789,. 십백천만억조여약제원명이상개사%-１", max_size=20))
def test_number_like_text_raises_only_number_format_error(text):
    parses_or_fails_cleanly(text)


def test_unit_words_use_vocabulary_codes():
    assert set(UNIT_WORDS.values()) <= {
        "KRW",
        "t",
        "kg",
        "person",
        "company",
        "product",
        "organisation",
        "local_government",
        "indicator",
        "field",
        "percent",
        "rank",
        "year",
        "edition",
        "anniversary",
        "layer",
    }
