"""Published data sets: one loader finds, refuses and reads every kind (factor sets, energy
coefficient sets, benchmark level sets), each with its own error codes and request field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from accounting.benchmarks import (
    LEVEL_SETS,
    LevelSetFormatError,
    UnknownLevelSetError,
    load_level_set,
    parse_level_set,
)
from accounting.energy import (
    ENERGY_SETS,
    EnergySetFormatError,
    UnknownEnergySetError,
    load_energy_set,
    parse_energy_set,
)
from accounting.errors import AccountingError, FactorSetFormatError, UnknownFactorSetError
from accounting.factors import FACTOR_SETS, load_factor_set, parse_factor_set
from accounting.published import Shelf

# (loader, its unknown-id error, code, field, the ids shipped under accounting/data)
KINDS = [
    (load_factor_set, UnknownFactorSetError, "unknown_factor_set", "factor_set", FACTOR_SETS),
    (load_energy_set, UnknownEnergySetError, "unknown_energy_set", "energySet", ENERGY_SETS),
    (load_level_set, UnknownLevelSetError, "unknown_level_set", "benchmarkLevels", LEVEL_SETS),
]


def test_each_shelf_lists_only_its_own_files() -> None:
    # Energy and level sets share the data folder: each shelf must skip the other's files.
    assert FACTOR_SETS.ids() == ("cn-ghg-v1", "cn-ghg-v2")
    assert ENERGY_SETS.ids() == ("gbt2589-2020",)
    assert LEVEL_SETS.ids() == ("ndrc-2023",)


@pytest.mark.parametrize(("load", "error", "code", "field", "shelf"), KINDS)
@pytest.mark.parametrize("set_id", ["v9", "../rulesets/zj-huzhou-2021", "ndrc-2023.json"])
def test_an_id_not_shipped_is_refused_with_the_kinds_code_field_and_known_ids(
    load: Callable[[str], Any],
    error: type[AccountingError],
    code: str,
    field: str,
    shelf: Shelf,
    set_id: str,
) -> None:
    with pytest.raises(error) as caught:
        load(set_id)
    known = ", ".join(shelf.ids())
    assert (caught.value.code, caught.value.field) == (code, field)
    assert caught.value.message == f"unknown {shelf.noun} {set_id!r} (known: {known})"


def test_a_fractional_json_number_is_refused_before_it_becomes_a_float(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "shelf_under_test"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "levels-a.json").write_text('{"id": "a", "years": [2023], "baseline": 117.5}')
    (package / "levels-b.json").write_text('{"id": "b", "years": [2023], "baseline": "117.5"}')
    monkeypatch.syspath_prepend(str(tmp_path))
    errors = (UnknownLevelSetError, LevelSetFormatError)
    shelf = Shelf("level set", "levels-{}.json", "levels", errors, package.name)
    assert shelf.ids() == ("a", "b")
    with pytest.raises(LevelSetFormatError) as caught:
        shelf.read("a")
    assert caught.value.message == "numeric literal 117.5 in level set; store decimals as strings"
    assert shelf.read("b") == {"id": "b", "years": [2023], "baseline": "117.5"}


PARSERS = [
    (load_factor_set, parse_factor_set, "factors", "factor", FactorSetFormatError),
    (load_energy_set, parse_energy_set, "coefficients", "coefficient", EnergySetFormatError),
    (load_level_set, parse_level_set, "products", "product", LevelSetFormatError),
]


@pytest.mark.parametrize(("load", "parse", "key", "noun", "error"), PARSERS)
def test_an_item_stated_twice_is_refused_by_its_id(
    load: Callable[[], Any],
    parse: Callable[[dict[str, Any]], Any],
    key: str,
    noun: str,
    error: type[AccountingError],
) -> None:
    document = copy.deepcopy(dict(load().document))
    first = document[key][0]
    document[key].append(dict(first))
    with pytest.raises(error) as caught:
        parse(document)
    assert caught.value.message == f"duplicate {noun} id {first['id']!r}"
