"""Carbon-efficiency grading (碳效码, methodology §6); see docs/grading.md.

* ``load_ruleset(id)`` / ``available_rulesets()`` / ``ruleset_for(region, year)`` → ``Ruleset``
* ``grade(emissions_t, added_value_wan_yuan, industry, year, ruleset, …)`` → ``Rating``
* ``grade_many(inputs, ruleset, year, averages)`` for a whole period's population
* ``industry_average_from_population(industry, year, pairs)``, ``population_averages(inputs, year)``
  groups a batch by industry
"""

from accounting.errors import (
    InvalidAddedValueError,
    InvalidEmissionsError,
    InvalidIndustryAverageError,
    InvalidProductOutputError,
    MissingAddedValueError,
    NegativeEmissionsError,
    PopulationTooSmallError,
    RulesetFormatError,
    RulesetNotApplicableError,
    UnknownIndustryAverageError,
    UnknownRulesetError,
)
from accounting.grading.averages import (
    INTENSITY_UNIT,
    PEERS_DEFINITION,
    POPULATION_DEFINITION,
    IndustryAverage,
    PopulationBasis,
    PublishedPopulation,
    industry_average_from_population,
    published_peer_average,
)
from accounting.grading.rating import (
    REPORT_PLACES,
    GradingInput,
    ProductIntensity,
    Rating,
    grade,
    grade_many,
    indicative_reasons,
    population_averages,
    ungraded,
)
from accounting.grading.rulesets import (
    ProductBenchmark,
    Ruleset,
    available_rulesets,
    load_ruleset,
    parse_ruleset,
    ruleset_for,
)

__all__ = [
    "INTENSITY_UNIT",
    "PEERS_DEFINITION",
    "POPULATION_DEFINITION",
    "REPORT_PLACES",
    "GradingInput",
    "IndustryAverage",
    "InvalidAddedValueError",
    "InvalidEmissionsError",
    "InvalidIndustryAverageError",
    "InvalidProductOutputError",
    "MissingAddedValueError",
    "NegativeEmissionsError",
    "PopulationBasis",
    "PopulationTooSmallError",
    "ProductBenchmark",
    "ProductIntensity",
    "PublishedPopulation",
    "Rating",
    "Ruleset",
    "RulesetFormatError",
    "RulesetNotApplicableError",
    "UnknownIndustryAverageError",
    "UnknownRulesetError",
    "available_rulesets",
    "grade",
    "grade_many",
    "indicative_reasons",
    "industry_average_from_population",
    "load_ruleset",
    "parse_ruleset",
    "population_averages",
    "published_peer_average",
    "ruleset_for",
    "ungraded",
]
