"""The arithmetic every figure must pass (api.ingest.arithmetic), alone and as the seed reader applies it.

Each check has a case that holds and a case that fails. The seed-level cases start from the
minimal valid seed set in tests/seed_faults/minimal and change one figure.
"""

import hashlib
import pathlib
import shutil
from decimal import Decimal

import pytest
import yaml

from api.ingest.arithmetic import check_growth_rate, check_parts, check_value_text
from api.ingest.read import SeedError, read_seeds

MINIMAL = pathlib.Path(__file__).resolve().parent / "seed_faults" / "minimal"
KIMJANG = "01_kimjang_festival.yaml"
MARKET = "02_small_business_online_market.yaml"
GROWTH = "kimjang-festival-2023-sales-growth"
COMPANIES = "online-market-supported-companies"

SALES_2022 = {"value": Decimal(1100000000), "unit": "KRW", "value_text": "11억원"}
SALES_2023 = {"value": Decimal(1470000000), "unit": "KRW", "value_text": "14억 7000만원"}


def figure(value, value_text, qualifier="exact", unit=None):
    return {"value": None if value is None else Decimal(value), "value_text": value_text, "qualifier": qualifier, "unit": unit}


# value vs value_text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text", "qualifier"),
    [
        (1470000000, "14억 7000만원", "exact"),
        (1470000000, "14억7000만원", "exact"),
        (12000, "1만2000여명", "at_least"),
        (5000, "약 5000명", "approximate"),
        (100, "100명 이상", "at_least"),
        ("33.6", "33.6%", "exact"),
        (1523, "1523개 제품", "exact"),
        (1523, "1,523개", "exact"),
    ],
)
def test_value_text_holds(value, text, qualifier):
    result = check_value_text(figure(value, text, qualifier))
    assert result.kind == "value_text"
    assert result.holds, result.detail


def test_value_text_fails_on_a_wrong_value():
    result = check_value_text(figure(147000000, "14억 7000만원"))  # a zero short
    assert not result.holds
    assert "147000000" in result.detail and "1470000000" in result.detail


def test_value_text_fails_on_a_decimal_slip():
    result = check_value_text(figure("33.7", "33.6%"))
    assert not result.holds
    assert "33.7" in result.detail and "33.6" in result.detail


def test_value_text_fails_when_여_is_marked_exact():
    result = check_value_text(figure(12000, "1만2000여명", "exact"))
    assert not result.holds
    assert "qualifier 'exact'" in result.detail and "'at_least'" in result.detail


def test_value_text_fails_when_an_exact_number_is_marked_approximate():
    result = check_value_text(figure(716, "716개사", "approximate"))
    assert not result.holds
    assert "'exact'" in result.detail


def test_value_text_fails_when_value_is_missing():
    result = check_value_text(figure(None, "218t"))
    assert not result.holds
    assert "218" in result.detail


def test_value_text_fails_when_the_text_is_not_a_number():
    result = check_value_text(figure(1, "많은 시민"))
    assert not result.holds
    assert "많은 시민" in result.detail


# parts add up to their whole ------------------------------------------------------------


ONLINE_MARKET_PARTS = [159, 25, 190, 254, 58, 30]  # article 6: they add up to 716개사


def test_parts_that_sum_to_the_whole_hold():
    whole = figure(716, "716개사", unit="company")
    parts = [figure(n, f"{n}개사", unit="company") for n in ONLINE_MARKET_PARTS]
    result = check_parts(whole, parts)
    assert result.kind == "parts_sum"
    assert result.holds, result.detail
    assert "159 + 25 + 190 + 254 + 58 + 30 = 716 = 716" in result.detail


def test_decimal_parts_sum_exactly():
    # 0.1 + 0.2 is 0.3 in Decimal, where float would say 0.30000000000000004
    parts = [figure("0.1", "0.1t", unit="t"), figure("0.2", "0.2t", unit="t")]
    result = check_parts(figure("0.3", "0.3t", unit="t"), parts)
    assert result.holds, result.detail


def test_parts_that_do_not_sum_fail():
    whole = figure(716, "716개사", unit="company")
    parts = [figure(n, f"{n}개사", unit="company") for n in ONLINE_MARKET_PARTS[:-1]]
    result = check_parts(whole, parts)
    assert not result.holds
    assert "= 686 ≠ 716" in result.detail


def test_parts_in_another_unit_fail_even_when_the_numbers_add_up():
    whole = figure(10, "10t", unit="t")
    parts = [figure(4, "4t", unit="t"), figure(6, "6kg", unit="kg")]
    result = check_parts(whole, parts)
    assert not result.holds
    assert "kg" in result.detail and "the whole in t" in result.detail


def test_parts_all_in_a_different_unit_from_the_whole_fail():
    result = check_parts(figure(2, "2명", unit="person"), [figure(1, "1개사", unit="company")] * 2)
    assert not result.holds
    assert "company" in result.detail and "person" in result.detail


def test_parts_without_values_fail():
    result = check_parts(figure(2, "2명", unit="person"), [figure(None, "?명", unit="person")])
    assert not result.holds


# growth rates match their bases to the printed precision -------------------------------


def test_growth_rate_rounded_to_the_printed_precision_holds():
    # (14억7000만 - 11억) / 11억 = 33.6363...%: printed to one place, 33.6 is right
    result = check_growth_rate(figure("33.6", "33.6%", unit="percent"), SALES_2022, SALES_2023)
    assert result.kind == "growth_rate"
    assert result.holds, result.detail
    assert "33.6364%" in result.detail


def test_growth_rate_off_in_the_last_printed_place_fails():
    result = check_growth_rate(figure("33.7", "33.7%", unit="percent"), SALES_2022, SALES_2023)
    assert not result.holds
    assert "33.6% ≠ 33.7%" in result.detail


@pytest.mark.parametrize(
    ("value", "text", "holds"),
    [
        ("34", "34%", True),  # printed to no places: 33.636 -> 34
        ("33", "33%", False),  # truncated, not rounded
        ("33.64", "33.64%", True),  # two places: 33.636 -> 33.64
        ("33.63", "33.63%", False),
        ("33.636", "33.636%", True),
    ],
)
def test_growth_rate_is_compared_at_the_precision_it_was_printed_with(value, text, holds):
    result = check_growth_rate(figure(value, text, unit="percent"), SALES_2022, SALES_2023)
    assert result.holds is holds, result.detail


def test_growth_rate_rounds_half_up():
    # 8 -> 9 is exactly 12.5%: printed to no places it is 13 (half up), not 12 (half even)
    base, current = figure(8, "8명", unit="person"), figure(9, "9명", unit="person")
    assert check_growth_rate(figure(13, "13%", unit="percent"), base, current).holds
    assert not check_growth_rate(figure(12, "12%", unit="percent"), base, current).holds


def test_growth_rate_between_different_units_fails():
    base = {"value": Decimal(1100), "unit": "t", "value_text": "1100t"}
    result = check_growth_rate(figure("33.6", "33.6%", unit="percent"), base, SALES_2023)
    assert not result.holds
    assert "base is in t" in result.detail


def test_growth_rate_from_zero_fails():
    base = figure(0, "0원", unit="KRW")
    result = check_growth_rate(figure(10, "10%", unit="percent"), base, SALES_2023)
    assert not result.holds
    assert "zero" in result.detail


# the checks as the seed reader applies them ---------------------------------------------


@pytest.fixture
def seeds_dir(tmp_path):
    return pathlib.Path(shutil.copytree(MINIMAL, tmp_path / "seeds"))


def edit(path, change):
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")


def reprint(seeds_dir, printed, instead):
    """Make the copy's page print `instead` where it printed `printed` (once), as if the paper
    had: the page file changes, so does its SHA-256 in the sources, and every quote with it.
    A figure must keep the print, so a changed figure needs a changed page."""
    page = next((seeds_dir / "pages").glob("*.txt"))
    text = page.read_text(encoding="utf-8")
    assert text.count(printed) == 1, printed
    before = hashlib.sha256(page.read_bytes()).hexdigest()
    page.write_text(text.replace(printed, instead), encoding="utf-8")
    after = hashlib.sha256(page.read_bytes()).hexdigest()
    for file in seeds_dir.glob("*.yaml"):
        file.write_text(file.read_text(encoding="utf-8").replace(before, after).replace(printed, instead), encoding="utf-8")


def set_fields(path, record_id, **fields):
    def change(document):
        record = next(r for r in document["figures"] if r["id"] == record_id)
        record.update(fields)

    edit(path, change)


def problems_of(seeds_dir):
    with pytest.raises(SeedError) as caught:
        read_seeds(seeds_dir)
    return caught.value.problems


def only_problem(seeds_dir):
    problems = problems_of(seeds_dir)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def test_the_minimal_seeds_pass_every_check(seeds_dir):
    seeds = read_seeds(seeds_dir)
    recorded = {(figure_id, r.kind): r for figure_id, r in seeds.checks}
    assert recorded[(GROWTH, "growth_rate")].holds
    assert recorded[(COMPANIES, "parts_sum")].holds
    assert all(r.holds for r in recorded.values())
    # value_text checks gate the load; they are not kept as results
    assert not any(r.kind == "value_text" for _, r in seeds.checks)


def test_seeds_reject_a_value_that_disagrees_with_its_text(seeds_dir):
    set_fields(seeds_dir / KIMJANG, "kimjang-festival-2023-sales-amount", value=1470000001)
    problem = only_problem(seeds_dir)
    assert (problem.file, problem.record, problem.field) == (str(seeds_dir / KIMJANG), "figures[kimjang-festival-2023-sales-amount]", "value")
    assert "1470000001" in problem.message


def test_seeds_reject_a_wrong_qualifier(seeds_dir):
    set_fields(seeds_dir / KIMJANG, "kimjang-festival-2023-participants", qualifier="exact")
    problem = only_problem(seeds_dir)
    assert (problem.record, problem.field) == ("figures[kimjang-festival-2023-participants]", "value")
    assert "at_least" in problem.message


def test_seeds_reject_parts_that_do_not_sum(seeds_dir):
    reprint(seeds_dir, "(30개사)", "(31개사)")
    set_fields(seeds_dir / MARKET, "online-market-digital-transition-companies", value=31, value_text="31개사")
    problem = only_problem(seeds_dir)
    assert (problem.file, problem.record, problem.field) == (str(seeds_dir / MARKET), f"figures[{COMPANIES}]", "parts")
    assert "717 ≠ 716" in problem.message


def test_seeds_reject_parts_in_another_unit(seeds_dir):
    reprint(seeds_dir, "(30개사)", "(30개 제품)")
    set_fields(seeds_dir / MARKET, "online-market-digital-transition-companies", unit="product", value_text="30개 제품")
    problem = only_problem(seeds_dir)
    assert (problem.record, problem.field) == (f"figures[{COMPANIES}]", "parts")
    assert "product" in problem.message


def test_seeds_reject_a_growth_rate_that_does_not_match_its_bases(seeds_dir):
    reprint(seeds_dir, "33.6%", "33.7%")
    set_fields(seeds_dir / KIMJANG, GROWTH, value=33.7, value_text="33.7%")
    problem = only_problem(seeds_dir)
    assert (problem.file, problem.record, problem.field) == (str(seeds_dir / KIMJANG), f"figures[{GROWTH}]", "comparisons")
    assert "33.6% ≠ 33.7%" in problem.message


def test_seeds_reject_a_discrepancy_declared_where_every_check_holds(seeds_dir):
    set_fields(seeds_dir / KIMJANG, GROWTH, discrepancy="The page says 33.6% but means something else.")
    problem = only_problem(seeds_dir)
    assert (problem.record, problem.field) == (f"figures[{GROWTH}]", "discrepancy")
    assert "every check" in problem.message


def test_seeds_reject_a_discrepancy_on_a_figure_with_nothing_to_check(seeds_dir):
    set_fields(seeds_dir / KIMJANG, "kimjang-festival-2023-participants", discrepancy="none, really")
    problem = only_problem(seeds_dir)
    assert (problem.record, problem.field) == ("figures[kimjang-festival-2023-participants]", "discrepancy")


def test_a_discrepancy_does_not_excuse_our_own_misreading_of_the_text(seeds_dir):
    # value_text is ours to get right: only the page's arithmetic may disagree with itself
    set_fields(seeds_dir / KIMJANG, GROWTH, value=33.7, discrepancy="the page's own rounding")
    problems = problems_of(seeds_dir)
    assert any(p.field == "value" and "33.6%" in p.message for p in problems), problems


DECLARED = "The page prints 33.7%, but its own amounts give 33.6%."


def declare_a_growth_discrepancy(seeds_dir):
    reprint(seeds_dir, "33.6%", "33.7%")
    set_fields(seeds_dir / KIMJANG, GROWTH, value=33.7, value_text="33.7%", discrepancy=DECLARED)


def declare_a_parts_discrepancy(seeds_dir):
    reprint(seeds_dir, "(30개사)", "(31개사)")
    set_fields(seeds_dir / MARKET, "online-market-digital-transition-companies", value=31, value_text="31개사")
    set_fields(seeds_dir / MARKET, COMPANIES, discrepancy="The lines add up to 717, not the 716 printed.")


@pytest.mark.parametrize(
    ("declare", "figure_id", "kind"),
    [
        (declare_a_growth_discrepancy, GROWTH, "growth_rate"),
        (declare_a_parts_discrepancy, COMPANIES, "parts_sum"),
    ],
)
def test_a_declared_discrepancy_loads_and_keeps_the_failed_check(seeds_dir, migrated, declare, figure_id, kind):
    from api.ingest.load import load
    from api.store import models as m
    from api.store.db import db

    declare(seeds_dir)
    seeds = read_seeds(seeds_dir)
    failed = [r for f, r in seeds.checks if f == figure_id and r.kind == kind]
    assert [r.holds for r in failed] == [False]

    with db.obj.connection_context():
        load(seeds, db.obj)
        checks = list(m.FigureCheck.select().where(m.FigureCheck.figure == figure_id).dicts())
        stored = m.Figure.get_by_id(figure_id)
        held = m.FigureCheck.select().where(m.FigureCheck.holds == True).count()  # noqa: E712
    assert [(c["kind"], c["holds"], c["detail"]) for c in checks] == [(kind, False, failed[0].detail)]
    assert stored.discrepancy is not None and stored.discrepancy.startswith("The ")
    assert held == 1  # the other check of the minimal seeds (parts or growth) still holds, and is kept too


def test_checks_that_hold_are_stored_as_holding(seeds_dir, migrated):
    from api.ingest.load import load
    from api.store import models as m
    from api.store.db import db

    with db.obj.connection_context():
        load(read_seeds(seeds_dir), db.obj)
        rows = sorted((c.figure_id, c.kind, c.holds) for c in m.FigureCheck.select())
    assert rows == [(GROWTH, "growth_rate", True), (COMPANIES, "parts_sum", True)]
