"""Carbon-efficiency grading: level and grade edges, precision, population averages, batches.

Expected values are worked out here from the methodology (§6): L = emissions ÷ added value
(t/万元); level low L <= 0.6 < medium <= 2.0 < high; K = L ÷ industry average L; grade 1..5
with upper edges 0.6, 0.8, 1.2, 2.0 inclusive. Edge tests use a copy of the shipped ruleset
whose averages are set here, so they do not depend on the shipped illustrative values.
"""

from __future__ import annotations

import copy
import decimal
import json
import random
import time

import pytest

from accounting import (
    GradingInput,
    InvalidIndustryAverageError,
    digest_document,
    grade,
    grade_many,
    industry_average_from_population,
    load_ruleset,
    population_averages,
)
from accounting.grading import POPULATION_DEFINITION, parse_ruleset
from tests.accounting.helpers import POLICY, D

YEAR = 2025
V = D("1000")  # added value used by the edge tests, 万元
CEMENT_AVG = D("2.5")  # test average L for cement, t/万元


@pytest.fixture(scope="module")
def ruleset():
    document = copy.deepcopy(dict(load_ruleset("zj-huzhou-2021").document))
    for row in document["industry_averages"]:
        row["value"] = {"cement": "2.5", "chemicals": "1.5"}.get(row["industry"], row["value"])
    return parse_ruleset(document)


# (K edge, grade at the edge and just below, grade just above)
GRADE_EDGES = [("0.6", 1, 2), ("0.8", 2, 3), ("1.2", 3, 4), ("2.0", 4, 5)]
TINY = [D("1e-10"), D("1e-30"), D("1e-45")]


@pytest.mark.parametrize(("edge", "at", "above"), GRADE_EDGES)
@pytest.mark.parametrize("tiny", TINY)
def test_grade_edges_are_inclusive_and_exact(ruleset, edge, at, above, tiny):
    # K = e / (V × avg), so e = K × V × avg; a tiny step in K is a step of tiny × V × avg in e.
    with decimal.localcontext(POLICY):  # the test's own arithmetic must not round either
        e_edge = D(edge) * V * CEMENT_AVG
        below, above_e = e_edge - tiny * V * CEMENT_AVG, e_edge + tiny * V * CEMENT_AVG
    assert grade(e_edge, V, "cement", YEAR, ruleset).grade == at
    assert grade(e_edge, V, "cement", YEAR, ruleset).k == D(edge)
    assert grade(below, V, "cement", YEAR, ruleset).grade == at
    assert grade(above_e, V, "cement", YEAR, ruleset).grade == above


def test_grade_at_0_8_is_2_and_0_8000000001_is_3(ruleset):
    # avg 2.5, V 1000: K = 0.8 ⇔ e = 2000; K = 0.8000000001 ⇔ e = 2000.00000025.
    assert grade(D("2000"), V, "cement", YEAR, ruleset).grade == 2
    assert grade(D("2000.00000025"), V, "cement", YEAR, ruleset).k == D("0.8000000001")
    assert grade(D("2000.00000025"), V, "cement", YEAR, ruleset).grade == 3


def test_grade_extremes(ruleset):
    assert grade(D(0), V, "cement", YEAR, ruleset).grade == 1  # zero emissions: K = 0
    assert grade(D("1e9"), D("0.001"), "cement", YEAR, ruleset).grade == 5


# (L edge, level at the edge and just below, level just above)
LEVEL_EDGES = [("0.6", "low", "medium"), ("2.0", "medium", "high")]


@pytest.mark.parametrize(("edge", "at", "above"), LEVEL_EDGES)
@pytest.mark.parametrize("tiny", TINY)
def test_level_edges_are_inclusive_and_exact(ruleset, edge, at, above, tiny):
    with decimal.localcontext(POLICY):
        e_edge = D(edge) * V  # L = e / V
        below, above_e = e_edge - tiny * V, e_edge + tiny * V
    assert grade(e_edge, V, "cement", YEAR, ruleset).level == at
    assert grade(e_edge, V, "cement", YEAR, ruleset).intensity == D(edge)
    assert grade(below, V, "cement", YEAR, ruleset).level == at
    assert grade(above_e, V, "cement", YEAR, ruleset).level == above


def test_level_does_not_depend_on_the_industry_average(ruleset):
    # Same L = 0.5 (low) in cement (avg 2.5 → K 0.2, grade 1) and chemicals (avg 1.5 → K 1/3).
    cement = grade(D("500"), V, "cement", YEAR, ruleset)
    chemicals = grade(D("500"), V, "chemicals", YEAR, ruleset)
    assert cement.level == chemicals.level == "low"
    assert (cement.k, cement.grade) == (D("0.2"), 1)
    assert chemicals.grade == 1 and chemicals.k < D("0.34")


def test_k_edge_is_exact_when_nothing_terminates():
    # Population average 1/3 t/万元 (E = 1, V = 3); firm e = 0.8, v = 3: L = 0.8/3, K = 0.8
    # exactly → grade 2. Dividing the 50-digit roundings of L and the average would give
    # 0.8000…0002 and grade 3: that is what the exact comparison prevents.
    average = industry_average_from_population("cement", YEAR, [(D(1), D(3))])
    rating = grade(D("0.8"), D(3), "cement", YEAR, "zj-huzhou-2021", industry_average=average)
    assert (rating.k, rating.grade) == (D("0.8"), 2)
    with decimal.localcontext(prec=50):
        naive = (D("0.8") / 3) / (D(1) / 3)
    assert naive > D("0.8")


def test_ruleset_average_is_used_and_reported_with_provenance():
    shipped = load_ruleset("zj-huzhou-2021")
    average = shipped.average("iron_steel", YEAR)
    # L = 3600 / 300 = 12; K = L / average.
    rating = grade(D("3600"), D("300"), "iron_steel", YEAR, shipped)
    assert rating.intensity == D(12) and rating.level == "high"
    with decimal.localcontext(prec=50):
        assert rating.k == D(12) / average.value
    assert rating.industry_average is average
    out = rating.to_dict()["industry_average"]
    assert out["origin"] == "ruleset" and out["provenance"]["status"] == "illustrative"
    assert (rating.ruleset_id, rating.ruleset_digest) == (shipped.id, shipped.digest)


def test_dict_form_has_decimal_strings_and_half_even_display(ruleset):
    # L = 123.45 / 1000 = 0.12345 → 4 places half-even 0.1234; K = 0.12345 / 2.5 = 0.04938.
    out = grade(D("123.45"), V, "cement", YEAR, ruleset).to_dict()
    assert out["L"] == {"exact": "0.12345", "reported": "0.1234", "unit": "tCO2/万元"}
    assert out["K"] == {"exact": "0.04938", "reported": "0.0494"}
    assert out["grade"] == 1 and out["level"] == "low"
    assert out["emissions_t"] == "123.45" and out["added_value_wan_yuan"] == "1000"
    assert json.loads(json.dumps(out)) == out
    # L = 0.12355 → 0.1236 (half-even rounds the 5 to the even digit 6).
    assert grade(D("123.55"), V, "cement", YEAR, ruleset).to_dict()["L"]["reported"] == "0.1236"


def test_product_intensity_against_benchmark(ruleset):
    bench = ruleset.benchmark("cement", YEAR)
    assert bench is not None and bench.product == "clinker"
    # 90,000 t over 100,000 t clinker = 0.9 t/t; ratio = 0.9 / benchmark.
    rating = grade(D("90000"), D("30000"), "cement", YEAR, ruleset, product_output_t=D("100000"))
    assert rating.product.intensity == D("0.9")
    with decimal.localcontext(prec=50):
        assert rating.product.ratio == D("0.9") / bench.value
    assert rating.to_dict()["product"]["benchmark"]["provenance"]["status"] == "illustrative"


def test_product_intensity_without_benchmark(ruleset):
    rating = grade(D("50"), D("100"), "chemicals", YEAR, ruleset, product_output_t=D("200"))
    assert rating.product.intensity == D("0.25")
    assert rating.product.benchmark is None and rating.product.ratio is None
    assert grade(D("50"), D("100"), "chemicals", YEAR, ruleset).product is None


def test_population_average_is_total_emissions_over_total_added_value():
    # Firms (t, 万元): (100, 50), (300, 100), (0, 50). Σe = 400, Σv = 200 → average 2 t/万元.
    # (The unweighted mean of the firms' L would be (2 + 3 + 0) / 3 ≈ 1.667; not what we use.)
    pairs = [(D(100), D(50)), (D(300), D(100)), (D(0), D(50))]
    average = industry_average_from_population("cement", YEAR, pairs)
    assert average.value == D(2) and average.origin == "population"
    basis = average.population
    assert (basis.count, basis.total_emissions_t, basis.total_added_value_wan_yuan) == (
        3,
        D(400),
        D(200),
    )
    members = [["0", "50"], ["100", "50"], ["300", "100"]]  # sorted by (emissions, added value)
    expected = digest_document(
        {
            "definition": POPULATION_DEFINITION,
            "industry": "cement",
            "year": YEAR,
            "members": members,
        }
    )
    assert basis.digest == expected
    shuffled = industry_average_from_population("cement", YEAR, [pairs[2], pairs[0], pairs[1]])
    assert shuffled.population.digest == expected
    # Equal values written differently (1E+2 vs 100) are the same population.
    respelled = [(D("1E+2"), D("50.0")), pairs[1], pairs[2]]
    assert industry_average_from_population("cement", YEAR, respelled).population.digest == expected
    changed = industry_average_from_population("cement", YEAR, [(D(101), D(50)), *pairs[1:]])
    assert changed.population.digest != expected


def test_grading_against_a_population_average(ruleset):
    pairs = [(D(100), D(50)), (D(300), D(100)), (D(0), D(50))]
    average = industry_average_from_population("cement", YEAR, pairs)
    # Firm (300, 100): L = 3, K = 3 / 2 = 1.5 → grade 4; (100, 50): K = 1 → grade 3.
    firm = grade(D(300), D(100), "cement", YEAR, ruleset, industry_average=average)
    assert (firm.k, firm.grade) == (D("1.5"), 4)
    out = firm.to_dict()["industry_average"]
    assert out["origin"] == "population" and out["population"]["count"] == 3
    assert "provenance" not in out


def test_grade_many_matches_grade_and_keeps_order(ruleset):
    inputs = [
        GradingInput("cement", D("2000"), V),
        GradingInput("chemicals", D("900"), D("500"), D("10")),
        GradingInput("cement", D("2000.00000025"), V),
    ]
    # cement K = 0.8 → 2; chemicals L = 900 / 500 = 1.8, K = 1.8 / 1.5 = 1.2 → 3;
    # cement K = 0.8000000001 → 3.
    ratings = grade_many(inputs, ruleset, YEAR)
    assert [r.grade for r in ratings] == [2, 3, 3]
    singles = [
        grade(
            i.emissions_t,
            i.added_value_wan_yuan,
            i.industry,
            YEAR,
            ruleset,
            None,
            i.product_output_t,
        )
        for i in inputs
    ]
    assert [r.to_dict() for r in ratings] == [r.to_dict() for r in singles]


def test_grade_many_against_the_batch_population(ruleset):
    # cement: Σe = 300 + 100 = 400, Σv = 200 → 2; chemicals: 30 / 10 = 3.
    inputs = [
        GradingInput("cement", D(300), D(100)),
        GradingInput("chemicals", D(30), D(10)),
        GradingInput("cement", D(100), D(100)),
    ]
    averages = population_averages(inputs, YEAR)
    assert {k: a.value for k, a in averages.items()} == {"cement": D(2), "chemicals": D(3)}
    ratings = grade_many(inputs, ruleset, YEAR, averages)
    # K: 3 / 2 = 1.5 → 4; 3 / 3 = 1 → 3; 1 / 2 = 0.5 → 1.
    assert [(r.k, r.grade) for r in ratings] == [(D("1.5"), 4), (D(1), 3), (D("0.5"), 1)]
    assert all(r.industry_average.origin == "population" for r in ratings)


def test_grade_many_names_the_failing_entry(ruleset):
    inputs = [GradingInput("cement", D(1), V), GradingInput("cement", D(1), D(0))]
    with pytest.raises(Exception) as info:
        grade_many(inputs, ruleset, YEAR)
    assert (info.value.code, info.value.entry) == ("invalid_added_value", 1)
    with pytest.raises(Exception) as info:
        population_averages([inputs[0], inputs[0], GradingInput("x", D(-1), V)], YEAR)
    assert (info.value.code, info.value.entry) == ("negative_emissions", 2)


def test_average_for_another_industry_or_year_is_refused(ruleset):
    average = industry_average_from_population("cement", YEAR, [(D(1), D(1))])
    for industry, year in [("chemicals", YEAR), ("cement", 2024)]:
        with pytest.raises(InvalidIndustryAverageError) as info:
            grade(D(1), D(1), industry, year, ruleset, industry_average=average)
        assert info.value.field == "industry_average"


def test_ten_thousand_enterprises_grade_well_within_five_seconds():
    rng = random.Random(1)
    industries = sorted(load_ruleset("zj-huzhou-2021").industries)
    inputs = [
        GradingInput(
            industries[i % 6], D(rng.randrange(0, 10**9)).scaleb(-3), D(rng.randrange(1, 10**8))
        )
        for i in range(10_000)
    ]
    start = time.perf_counter()
    ratings = grade_many(inputs, "zj-huzhou-2021", YEAR)
    assert time.perf_counter() - start <= 5.0
    assert len(ratings) == 10_000
