"""The published peer average: a minimum of peers, rounded, and nothing but the average."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN
from decimal import Decimal as D

import pytest

from accounting.grading import (
    PEERS_DEFINITION,
    PopulationTooSmallError,
    PublishedPopulation,
    grade,
    load_ruleset,
    published_peer_average,
)

PUBLISHED = PublishedPopulation(PEERS_DEFINITION, 4, 3, "0x" + "ab" * 32)
PEERS = [(D(1), D(3)), (D(2), D(3)), (D(2), D(7))]  # Σe 5, Σv 13: 0.384615…


def test_fewer_peers_than_the_minimum_are_refused() -> None:
    with pytest.raises(PopulationTooSmallError) as caught:
        published_peer_average("cement", 2025, PEERS[:2], PUBLISHED)
    assert (caught.value.code, caught.value.field) == ("population_too_small", "population")


def test_the_average_is_published_rounded_and_graded_on_as_published() -> None:
    average = published_peer_average("cement", 2025, PEERS, PUBLISHED)
    expected = (D(5) / D(13)).quantize(D("0.0001"), rounding=ROUND_HALF_EVEN)
    assert average.value == expected == D("0.3846")
    shown = average.to_dict()
    assert shown["population"] == {
        "definition": PEERS_DEFINITION,
        "places": 4,
        "min_members": 3,
        "members_digest": "0x" + "ab" * 32,
    }
    rating = grade(D("0.3846"), D(1), "cement", 2025, load_ruleset(), industry_average=average)
    assert rating.k == D(1) and rating.grade == 3  # K against the rounded value, exactly
