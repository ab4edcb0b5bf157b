"""Pure, deterministic emissions accounting (GB/T 32150 / GB/T 32151) and carbon-efficiency grading.

Public API (see docs/accounting.md):

* ``load_factor_set(id)`` → ``FactorSet`` (``.digest``, ``.version``); ``DEFAULT_FACTOR_SET_ID``
* ``account(inventory, factor_set, gwp="AR5")`` → ``Result`` (``.to_dict()`` for JSON)
* ``Inventory`` / ``Entry`` (``Entry.from_scaled`` for signed records); ``read_inventory(path)``
* ``INDUSTRIES``, ``load_sample(industry)``, ``activity_codes()``
* ``report(value)`` — the reporting rounding rule; ``AccountingError`` and its subclasses
"""

from accounting.activities import CATEGORIES, MEMO_CATEGORIES
from accounting.engine import account
from accounting.errors import (
    AccountingError,
    ActivityNotAllowedError,
    ArithmeticLimitError,
    FactorKindError,
    FactorNotFoundError,
    FactorSetFormatError,
    GasNotInGwpSetError,
    InvalidParameterError,
    InvalidQuantityError,
    InventoryFormatError,
    MissingParameterError,
    NegativeQuantityError,
    UnitMismatchError,
    UnknownActivityError,
    UnknownFactorSetError,
    UnknownGwpSetError,
    UnknownIndustryError,
    UnknownUnitError,
)
from accounting.factors import (
    DEFAULT_FACTOR_SET_ID,
    DEFAULT_GWP_SET,
    Factor,
    FactorSet,
    GwpSet,
    Provenance,
    available_factor_sets,
    digest_document,
    load_factor_set,
)
from accounting.grading import (
    GradingInput,
    IndustryAverage,
    InvalidAddedValueError,
    InvalidEmissionsError,
    InvalidIndustryAverageError,
    InvalidProductOutputError,
    MissingAddedValueError,
    NegativeEmissionsError,
    ProductBenchmark,
    ProductIntensity,
    Rating,
    Ruleset,
    RulesetFormatError,
    RulesetNotApplicableError,
    UnknownIndustryAverageError,
    UnknownRulesetError,
    available_rulesets,
    grade,
    grade_many,
    industry_average_from_population,
    load_ruleset,
    population_averages,
    ruleset_for,
)
from accounting.industries import GENERAL, INDUSTRIES, INDUSTRY_TABLE, Industry
from accounting.inventory import Entry, Inventory
from accounting.methods import ACTIVITIES, activity_codes
from accounting.numbers import (
    LINE_QUANTUM,
    PRECISION,
    REPORT_PLACES,
    decimal_str,
    line_round,
    report,
    reported_str,
)
from accounting.readers import (
    inventory_from_dict,
    inventory_from_json,
    inventory_to_dict,
    read_inventory,
)
from accounting.result import ENGINE_VERSION, Line, LineBasis, Result
from accounting.samples import load_sample, sample_path
from accounting.spreadsheets import FileLimitError, FileLimits

__all__ = [
    "ACTIVITIES",
    "CATEGORIES",
    "DEFAULT_FACTOR_SET_ID",
    "DEFAULT_GWP_SET",
    "ENGINE_VERSION",
    "GENERAL",
    "INDUSTRIES",
    "INDUSTRY_TABLE",
    "LINE_QUANTUM",
    "MEMO_CATEGORIES",
    "PRECISION",
    "REPORT_PLACES",
    "AccountingError",
    "ActivityNotAllowedError",
    "ArithmeticLimitError",
    "Entry",
    "Factor",
    "FactorKindError",
    "FactorNotFoundError",
    "FactorSet",
    "FactorSetFormatError",
    "GasNotInGwpSetError",
    "GwpSet",
    "Industry",
    "InvalidParameterError",
    "InvalidQuantityError",
    "Inventory",
    "InventoryFormatError",
    "Line",
    "LineBasis",
    "MissingParameterError",
    "NegativeQuantityError",
    "Provenance",
    "Result",
    "UnitMismatchError",
    "UnknownActivityError",
    "UnknownFactorSetError",
    "UnknownGwpSetError",
    "UnknownIndustryError",
    "UnknownUnitError",
    "account",
    "activity_codes",
    "available_factor_sets",
    "decimal_str",
    "digest_document",
    "inventory_from_dict",
    "inventory_from_json",
    "inventory_to_dict",
    "line_round",
    "load_factor_set",
    "load_sample",
    "read_inventory",
    "report",
    "reported_str",
    "sample_path",
]

# Carbon-efficiency grading (docs/grading.md).
__all__ += [
    "GradingInput",
    "IndustryAverage",
    "InvalidAddedValueError",
    "InvalidEmissionsError",
    "InvalidIndustryAverageError",
    "InvalidProductOutputError",
    "MissingAddedValueError",
    "NegativeEmissionsError",
    "ProductBenchmark",
    "ProductIntensity",
    "Rating",
    "Ruleset",
    "RulesetFormatError",
    "RulesetNotApplicableError",
    "UnknownIndustryAverageError",
    "UnknownRulesetError",
    "available_rulesets",
    "grade",
    "grade_many",
    "industry_average_from_population",
    "load_ruleset",
    "population_averages",
    "ruleset_for",
]

# Reading untrusted files within bounds (docs/security.md, "Uploads").
__all__ += ["FileLimitError", "FileLimits"]
