"""One exception hierarchy for the accounting engine.

Every error carries a machine-readable ``code``, the index of the inventory entry it concerns
(``None`` for inventory-level problems) and the ``field`` at fault, so an HTTP layer can map it
to a 4xx response and a CLI can name the exact cell to fix.
"""

from __future__ import annotations


class AccountingError(Exception):
    """Base class: something in the inputs prevents an exact, standard-conforming result."""

    code: str = "accounting_error"

    def __init__(self, message: str, *, entry: int | None = None, field: str | None = None):
        self.message = message
        self.entry = entry
        self.field = field
        super().__init__(message)

    def at(self, entry: int) -> AccountingError:
        """Attach the entry index (for errors raised below the per-entry loop)."""
        if self.entry is None:
            self.entry = entry
        return self

    def __str__(self) -> str:
        where = []
        if self.entry is not None:
            where.append(f"entry {self.entry}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{self.message} [{self.code}]"

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able form for APIs."""
        return {
            "code": self.code,
            "entry": self.entry,
            "field": self.field,
            "message": self.message,
        }


class InventoryFormatError(AccountingError):
    """The inventory document itself is malformed (missing header field, bad date, bad cell)."""

    code = "invalid_inventory"


class UnknownIndustryError(AccountingError):
    code = "unknown_industry"


class UnknownActivityError(AccountingError):
    code = "unknown_activity"


class ActivityNotAllowedError(AccountingError):
    """The activity code exists but the industry's standard does not account that source."""

    code = "activity_not_allowed"


class UnknownUnitError(AccountingError):
    code = "unknown_unit"


class UnitMismatchError(AccountingError):
    """The unit parses but has a dimension the activity does not accept."""

    code = "unit_mismatch"


class InvalidQuantityError(AccountingError):
    """Quantity is not a finite ``Decimal``."""

    code = "invalid_quantity"


class NegativeQuantityError(AccountingError):
    code = "negative_quantity"


class MissingParameterError(AccountingError):
    """The method needs a measured parameter and the factor set has no default for it."""

    code = "missing_parameter"


class InvalidParameterError(AccountingError):
    """A measured parameter is unknown to the method, not a Decimal, or out of range."""

    code = "invalid_parameter"


class FactorNotFoundError(AccountingError):
    code = "factor_not_in_set"


class FactorKindError(AccountingError):
    """A chosen factor exists but is of the wrong kind for the activity (e.g. heat for power)."""

    code = "factor_kind_mismatch"


class UnknownFactorSetError(AccountingError):
    code = "unknown_factor_set"


class FactorSetFormatError(AccountingError):
    code = "invalid_factor_set"


class UnknownGwpSetError(AccountingError):
    code = "unknown_gwp_set"


class GasNotInGwpSetError(AccountingError):
    """The chosen GWP set has no value for a gas the inventory emits (e.g. NF3 in SAR)."""

    code = "gas_not_in_gwp_set"


class ArithmeticLimitError(AccountingError):
    """A figure does not fit the engine's fixed precision; never silently rounded."""

    code = "arithmetic_limit"


# --- carbon-efficiency grading (accounting.grading) ---


class MissingAddedValueError(AccountingError):
    """Grading needs the period's added value (万元); none was given."""

    code = "missing_added_value"


class InvalidAddedValueError(AccountingError):
    """Added value is not a finite Decimal or is zero or negative (L would be undefined)."""

    code = "invalid_added_value"


class InvalidEmissionsError(AccountingError):
    """Emissions to grade are missing or not a finite Decimal."""

    code = "invalid_emissions"


class NegativeEmissionsError(AccountingError):
    code = "negative_emissions"


class InvalidProductOutputError(AccountingError):
    """Product output for a per-product intensity is not a finite, positive Decimal."""

    code = "invalid_product_output"


class UnknownIndustryAverageError(AccountingError):
    """Neither the ruleset nor the caller supplies the industry's average L for the period."""

    code = "unknown_industry_average"


class InvalidIndustryAverageError(AccountingError):
    """A supplied industry average is for another industry or period, empty, or not positive."""

    code = "invalid_industry_average"


class PopulationTooSmallError(AccountingError):
    """Fewer peers than the minimum: an average of a few firms discloses their figures."""

    code = "population_too_small"


class RulesetNotApplicableError(AccountingError):
    """The ruleset does not cover the industry, the year or the region asked for."""

    code = "ruleset_not_applicable"


class UnknownRulesetError(AccountingError):
    code = "unknown_ruleset"


class RulesetFormatError(AccountingError):
    code = "invalid_ruleset"
