"""The browser verifier recomputes energy (综合能耗, GB/T 2589-2020) and benchmark (对标) figures
as ``carbon-verify`` does: the same blocks from the same records, the same refusals of a
malformed coefficient or level set, and, through a real ledger whose operator forges entries,
the same verdict, failed check and failure name on every energy bundle."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from accounting import account, load_factor_set
from accounting.benchmarks import energy_and_standing, load_level_set, parse_level_set
from accounting.energy import Denominators, energy_lines, load_energy_set, parse_energy_set
from accounting.errors import AccountingError
from accounting.from_records import RecordQuantity, inventory_from_records
from anchoring.devchain import DevChain
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.adversary import proof, rewrite_entry
from tests.ledger_api.evaluations.energy_case import (
    ADDED_VALUE,
    OUTPUT_T,
    READINGS,
    doctored_set,
    evaluate,
    recompute_with,
    smelter_ledger,
)
from tests.ledger_api.evaluations.energy_case import ENTERPRISE as SMELTER_ID
from tests.ledger_api.evaluations.energy_case import GAS as SMELTER_GAS
from tests.verifier.figure_case import tamper as tamper_figure
from tests.verifier.js_runner import Change, assert_agree, run_node
from verifier.checks.figure import verify_figure
from verifier.formats.figure import FigureProofBundle

BLOCKS = Path(__file__).parent / "js" / "energy_blocks.mjs"
FACTOR_SET = "cn-ghg-v2"

# (activity, source, scaled quantity, decimals, unit, signed attributes)
Reading = tuple[str, str, int, int, str, dict[str, Any] | None]
GRID, GAS, BOILER, STEAM = "SRC-GRID", "SRC-GAS", "SRC-BOILER", "SRC-STEAM"
SMELTER: list[Reading] = [
    (GRID, "electricity.purchased", 100_000, 3, "MWh", None),  # 100 MWh
    (GAS, "fuel.natural_gas", 200, 2, "10^4 Nm3", None),  # 2 × 10⁴ m³: Appendix A
    (GAS, "fuel.diesel", 4_000, 3, "t", None),  # 4 t: Appendix A
]
MEASURED = {"params": {"ncv": "389.31", "cc": "0.0153", "of": "0.99"}}
BIOMASS = {"params": {"ncv": "12.5", "cc": "0.03", "of": "0.9"}}
# Every rule of accounting/energy.py once: a default NCV (anthracite is not in Appendix A), a
# fuel metered in GJ, a measured NCV, heat in and out, electricity out, biomass measured.
WORKS: list[Reading] = [
    (BOILER, "fuel.anthracite", 10_500, 3, "t", None),
    (BOILER, "fuel.coke", 1_234_567, 2, "GJ", None),
    (GAS, "fuel.natural_gas", 1_750, 3, "10^4 Nm3", MEASURED),
    (STEAM, "heat.purchased", 120_500, 3, "GJ", None),
    (STEAM, "heat.exported", 20_000, 3, "GJ", None),
    (GRID, "electricity.purchased", 3_333_333, 3, "MWh", None),
    (GRID, "electricity.exported", 3_250, 3, "MWh", None),
    (BOILER, "fuel.biomass", 2_000, 3, "t", BIOMASS),
]
# Up to 10¹² tce a line, at the line quantum of 10⁻²⁰: the sums pass 28 significant digits.
HUGE: list[Reading] = [
    (GRID, "electricity.purchased", 123_456_789_123_456_789, 9, "MWh", None),
    (
        GAS,
        "fuel.natural_gas",
        98_765_432_123_457,
        6,
        "10^4 Nm3",
        {"params": {"ncv": "389.31234567"}},
    ),
    (BOILER, "fuel.anthracite", 77_777_777_777_777, 7, "t", None),
]


def _records(readings: list[Reading]) -> list[RecordQuantity]:
    return [RecordQuantity(a, s, q, d, u, attrs) for s, a, q, d, u, attrs in readings]


def _python_blocks(case: dict[str, Any]) -> dict[str, Any] | None:
    """What the ledger and carbon-verify compute; None when they refuse to."""
    inventory = inventory_from_records(
        "88.118.8/ENT-ENERGY", case["industry"], date(2025, 6, 1), date(2025, 6, 30),
        _records(case["readings"]), factor_choices=case["choices"],
    )  # fmt: skip
    result = account(inventory, load_factor_set(FACTOR_SET), "AR5")
    output, added = (None if d is None else Decimal(d) for d in case["denominators"])
    try:
        return energy_and_standing(
            result,
            parse_energy_set(case["energySet"]),
            parse_level_set(case["levelSet"]),
            case["basis"],
            case["year"],
            case["industry"],
            Denominators(output, added),
        )
    except AccountingError:
        return None


def _js_records(readings: list[Reading]) -> list[dict[str, Any]]:
    keys = ("source", "activity", "quantity", "decimals", "unit", "attributes")
    return [
        dict(zip(keys, (s, a, str(q), d, u, attrs), strict=True))
        for s, a, q, d, u, attrs in readings
    ]


def _coefficients(change: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    document = copy.deepcopy(dict(load_energy_set().document))
    if change is not None:
        change(document)
    return document


def _levels(change: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    document = copy.deepcopy(dict(load_level_set().document))
    if change is not None:
        change(document)
    return document


def _drop(name: str, kind: str = "coefficients") -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document[kind] = [c for c in document[kind] if c["id"] != name]

    return change


def _no_notice(document: dict[str, Any]) -> None:
    document["sources"]["gbt-2589-a"].pop("notice")


def _no_equivalent(document: dict[str, Any]) -> None:
    kept = [c for c in document["coefficients"] if c["kind"] != "electricity_equivalent"]
    document["coefficients"] = kept


def _twice(document: dict[str, Any]) -> None:
    content = next(c for c in document["coefficients"] if c["kind"] == "energy_content")
    document["coefficients"].append({**content, "id": "energy.content.2"})


def _block_cases() -> dict[str, dict[str, Any]]:
    base: dict[str, Any] = {
        "readings": SMELTER, "choices": {}, "energySet": _coefficients(), "levelSet": _levels(),
        "basis": "equivalent", "year": 2025, "industry": "aluminium",
        "denominators": ("7.5", "20"),
    }  # fmt: skip
    works = {**base, "readings": WORKS, "industry": "cement", "denominators": ("1000", "0")}
    return {
        "smelter": base,
        "smelter-equal": {**base, "basis": "equal"},
        "at-the-benchmark": {**base, "denominators": ("8", "20")},  # 12 500 kWh/t ≤ 13 000
        "before-the-listed-years": {**base, "year": 2010},
        "unknown-basis": {**base, "basis": "calorific"},
        "no-output": {**base, "denominators": (None, "20")},
        "works": works,
        "works-zero-output": {**works, "denominators": ("0", "-5")},
        "flat-glass": {**works, "industry": "flat_glass", "denominators": ("123.456", "7")},
        "steel-no-default-product": {**works, "industry": "iron_steel"},
        "industry-not-listed": {**works, "industry": "automotive"},
        "huge": {**base, "readings": HUGE, "denominators": ("3", "0.7")},
        "diesel-not-listed": {**base, "energySet": _coefficients(_drop("fuel.diesel"))},
        "two-energy-contents": {**works, "energySet": _coefficients(_twice)},
        "no-equivalent-value": {**base, "energySet": _coefficients(_no_equivalent)},
        "no-aluminium-level": {**base, "levelSet": _levels(_drop("aluminium_ac", "products"))},
    }  # fmt: skip


def test_energy_blocks_agree() -> None:
    """Every rule of GB/T 2589's conversion, both bases, the equivalent value's year, every
    standing and reason not assessed, and sums past 28 digits: the same blocks or both refuse."""
    cases = _block_cases()
    expected = {name: _python_blocks(case) for name, case in cases.items()}
    factor_set = dict(load_factor_set(FACTOR_SET).document)
    inputs = [{**case, "records": _js_records(case["readings"])} for case in cases.values()]
    js = run_node([str(BLOCKS)], {"factorSet": factor_set, "cases": inputs})
    got = {name: answer.get("blocks") for name, answer in zip(cases, js, strict=True)}
    assert got == expected
    refused = {name for name, blocks in expected.items() if blocks is None}
    assert refused == {"unknown-basis", "two-energy-contents", "no-equivalent-value"}
    standings = {n: b["benchmark"]["standing"] for n, b in expected.items() if b is not None}
    assert set(standings.values()) == {"between", "not_assessed", "benchmark", "below_baseline"}
    used = expected["works"]["energy"]["coefficientsUsed"]
    assert {"ncv:fuel.anthracite.ncv", "ncv:measured", "energy.content"} <= set(used)


def test_the_huge_case_sums_exactly() -> None:
    """Sums of line tce are exact in both verifiers (the engine's 50 digits, not Python's
    default 28). The gas line alone is 98 765 432.123457 × 10⁴ m³ × 389.3123456789 GJ ×
    0.03412 tce/GJ ≈ 1.3 × 10¹² tce, 21 digits before the line quantum of 10⁻²⁰: 33
    significant digits, which a 28-digit sum would round."""
    case = _block_cases()["huge"]
    blocks = _python_blocks(case)
    assert blocks is not None
    inventory = inventory_from_records(
        "88.118.8/ENT-ENERGY", "aluminium", date(2025, 6, 1), date(2025, 6, 30),
        _records(case["readings"]),
    )  # fmt: skip
    result = account(inventory, load_factor_set(FACTOR_SET), "AR5")
    lines, _ = energy_lines(result, load_energy_set(), "equivalent", 2025)
    with localcontext(prec=60):
        exact_sum = sum((line.tce for line in lines), Decimal(0))
    total = Decimal(blocks["energy"]["figures"]["exact"]["total"])
    assert len(exact_sum.as_tuple().digits) > 28
    assert total == exact_sum


def _document_cases() -> dict[str, tuple[str, dict[str, Any]]]:
    def coefficient(name: str, **changes: Any) -> tuple[str, dict[str, Any]]:
        def change(document: dict[str, Any]) -> None:
            document["coefficients"][0].update(changes)

        return name, _coefficients(change)

    def product(**changes: Any) -> tuple[str, dict[str, Any]]:
        def change(document: dict[str, Any]) -> None:
            document["products"][0].update(changes)

        return "levels", _levels(change)

    def sources_as_list(document: dict[str, Any]) -> None:
        names = list(document["sources"])
        document["sources"] = [document["sources"][n] for n in names]
        for c in document["coefficients"]:
            c["source"] = names.index(c["source"]) - len(names)  # a negative index

    def source(**changes: Any) -> tuple[str, dict[str, Any]]:
        return "energy", _coefficients(lambda d: d["sources"]["gbt-2589-a"].update(changes))

    def listed(coefficients: Any) -> tuple[str, dict[str, Any]]:
        return "energy", _coefficients(lambda d: d.update(coefficients=coefficients))

    def repeated(document: dict[str, Any]) -> None:
        document["coefficients"].append(document["coefficients"][0])

    no_year = _coefficients(lambda d: d["coefficients"][-1].pop("year"))
    return {
        "official": ("energy", _coefficients()),
        "official-levels": ("levels", _levels()),
        "no-title": ("energy", _coefficients(lambda d: d.pop("title"))),
        "empty-dict-of-coefficients": listed({}),
        "dict-of-coefficients": listed({"a": 1}),
        "empty-text-of-coefficients": listed(""),
        "underscored-value": coefficient("energy", value="0.71_43"),
        "spaced-value": coefficient("energy", value=" 0.7143\x1c"),
        "negative-value": coefficient("energy", value="-0.7143"),
        "number-value": coefficient("energy", value=0.7143),
        "infinite-value": coefficient("energy", value="Infinity"),
        "unknown-kind": coefficient("energy", kind="steam"),
        "unknown-unit": coefficient("energy", unit="tce/kg"),
        "bad-status": coefficient("energy", status="guessed"),
        "unknown-source": coefficient("energy", source="nowhere"),
        "numeric-id": coefficient("energy", id=5),
        "numeric-version": ("energy", _coefficients(lambda d: d.update(version=2))),
        "equivalent-without-year": ("energy", no_year),
        "year-true": ("energy", _coefficients(lambda d: d["coefficients"][-1].update(year=True))),
        "duplicate-id": ("energy", _coefficients(repeated)),
        "sources-as-list": ("energy", _coefficients(sources_as_list)),
        "source-year-text": source(year=" 2_020 "),
        "source-year-decimal": source(year="2020.0"),
        "source-without-notice": ("energy", _coefficients(_no_notice)),
        "not-a-set": ("energy", {"format": "carbon-ledger/benchmark-levels"}),
        "benchmark-above-baseline": product(benchmark="200"),
        "negative-levels": product(benchmark="-30", baseline="-10"),
        "negative-units-per-t": product(units_per_t="-1"),
        "default-text": product(default="true"),
        "no-name": ("levels", _levels(lambda d: d["products"][0].pop("name_en"))),
        "numeric-industry": product(industry=7),
        "unknown-metric": product(metric="water"),
        "no-sources": ("levels", _levels(lambda d: d.pop("sources"))),
        "no-products": ("levels", _levels(lambda d: d.update(products=[]) or d.pop("sources"))),
    }  # fmt: skip


def _python_summary(kind: str, document: dict[str, Any]) -> dict[str, str] | None:
    parse = parse_energy_set if kind == "energy" else parse_level_set
    try:
        return parse(document).summary()
    except (AccountingError, KeyError, TypeError, ValueError, ArithmeticError):
        return None


def test_energy_documents_agree() -> None:
    """A set the Python parser refuses, the browser refuses; one it reads has the same id,
    version and digest: which of the factor-set failures a forged set gets depends on it."""
    cases = _document_cases()
    expected = {name: _python_summary(kind, doc) for name, (kind, doc) in cases.items()}
    js = run_node(
        [str(BLOCKS)],
        {
            "factorSet": dict(load_factor_set(FACTOR_SET).document),
            "cases": [{"kind": kind, "document": doc} for kind, doc in cases.values()],
        },
    )
    got = {name: answer.get("summary") for name, answer in zip(cases, js, strict=True)}
    assert got == expected
    assert expected["official"] == load_energy_set().summary()
    assert expected["numeric-version"] is not None and expected["numeric-version"]["version"] == "2"
    read = {name for name, summary in expected.items() if summary is not None}
    assert {"underscored-value", "spaced-value", "sources-as-list", "negative-levels"} <= read


# --- energy bundles from a real ledger, the operator forging entries -------------------------

# The smelter of tests/ledger_api/evaluations/energy_case.py: 8 readings of each of
# grid electricity (12.5 MWh), natural gas (0.25 × 10⁴ m³) and diesel (0.5 t) a day.
FORGED_DAYS = 9


@pytest.fixture(scope="module")
def smelter(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LedgerServer, Any]]:
    """A ledger whose smelter reported FORGED_DAYS days of readings, all anchored, and one more
    (a period the terminal has not reported past is not evaluated); with its anchoring worker."""
    tmp = tmp_path_factory.mktemp("energy-js")
    with smelter_ledger(dev_chain, w3, operator_account, tmp, FORGED_DAYS) as smelter:
        yield smelter


def _doctored_levels() -> dict[str, Any]:
    """The official level set's id and version with every smelter at the benchmark."""

    def change(document: dict[str, Any]) -> None:
        for product in document["products"]:
            if product["id"] == "aluminium_ac":
                product.update(benchmark="13500", baseline="14000")

    return _levels(change)


def _recomputed(levels: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """The entry's energy blocks as the ledger's own code computes them with ``levels``."""

    def change(entry: dict[str, Any]) -> None:
        readings = [(s, a, q * 8, d, u, None) for s, a, q, d, u in READINGS]
        day = date.fromisoformat(entry["period"]["start"])
        inventory = inventory_from_records(
            SMELTER_ID, "aluminium", day, day, _records(readings),
            factor_choices=entry["accounting"]["factorChoices"],
        )  # fmt: skip
        result = account(inventory, load_factor_set(entry["accounting"]["factorSet"]["id"]), "AR5")
        denominators = Denominators(OUTPUT_T, ADDED_VALUE)
        entry.update(
            energy_and_standing(
                result, load_energy_set(), parse_level_set(levels), "equivalent", 2025,
                "aluminium", denominators,
            )
        )  # fmt: skip

    return change


def _lowered(entry: dict[str, Any]) -> None:
    for block in ("exact", "reported"):
        entry["energy"]["figures"][block]["total"] = "50"


FORGERIES: dict[str, Callable[[dict[str, Any]], None] | None] = {
    "honest": None,
    "equal": None,  # evaluated on the equal-value basis
    "doctored": recompute_with(doctored_set()),
    "lowered": _lowered,
    "flipped": lambda e: e["benchmark"].update(standing="benchmark"),
    "legacy": lambda e: [e.pop("energy"), e.pop("benchmark")],
    "inflated": recompute_with(dict(load_energy_set().document), ADDED_VALUE * 2),
    "levels": _recomputed(_doctored_levels()),
    "basis": lambda e: e["energy"].update(basis="calorific"),
}


def _evaluated(ledger: LedgerServer, worker: Any) -> dict[str, str]:
    """One evaluation per forgery, rewritten before it is anchored, then one anchoring round."""
    made = {}
    for day, (name, change) in enumerate(FORGERIES.items(), start=1):
        made[name] = evaluate(ledger, day, **({"energyBasis": "equal"} if name == "equal" else {}))
        if change is not None:
            rewrite_entry(ledger, made[name], change)
    worker.run_once()
    return made


def _edits(sets: dict[str, Any]) -> dict[str, Change]:
    """Bundle edits on the honest entry's energy.total proof."""

    def levels(change: Callable[[dict[str, Any]], None]) -> Change:
        return lambda d: change(d["energy"]["benchmarkLevels"])

    def swapped(data: dict[str, Any]) -> None:
        energy = data["energy"]
        energy.update(
            coefficientSet=sets["benchmarkLevels"], benchmarkLevels=sets["coefficientSet"]
        )

    return {
        "figure-value": lambda d: d["figure"].update(value="1.000"),
        "no-sets": lambda d: d.pop("energy"),
        "doctored-document": lambda d: d["energy"].update(coefficientSet=doctored_set()),
        "level-edited": lambda d: d["energy"].update(benchmarkLevels=_doctored_levels()),
        "not-a-level-set": levels(lambda s: [s.pop("products")]),
        "swapped-sets": swapped,
        "unknown-figure": lambda d: d["figure"].update(path="energy.byCarrier.coal"),
        "standing-claimed": lambda d: d["figure"].update(
            path="benchmark.standing", value="benchmark"
        ),
    }  # fmt: skip


def _with_sets(bundle: FigureProofBundle, sets: dict[str, Any]) -> FigureProofBundle:
    return tamper_figure(bundle, lambda d: d.update(energy=sets))


def test_energy_verdicts_agree(smelter: tuple[LedgerServer, Any]) -> None:
    """Honest energy and benchmark figures verify in the browser; every forged entry and edited
    bundle fails there at the check and with the name carbon-verify gives."""
    ledger, worker = smelter
    made = _evaluated(ledger, worker)
    honest = proof(ledger, made["honest"], "energy.total")
    sets = honest.to_json()["energy"]
    cases: list[tuple[str, FigureProofBundle, bool]] = [("honest", honest, True)]
    for figure in (
        f"energy.bySource.{SMELTER_GAS}",
        "energy.intensity.product",
        "energy.intensity.addedValue",
        "energy.byCarrier.electricity",
        "energy.byCategory.combustion",
        "benchmark.standing",
        "benchmark.intensity",
    ):
        cases.append((figure, proof(ledger, made["honest"], figure), False))  # fmt: skip
    total = proof(ledger, made["honest"], "total")
    cases += [("total-with-sets", _with_sets(total, sets), False)]
    legacy = proof(ledger, made["legacy"], "total")
    cases += [("legacy", legacy, True), ("legacy-with-sets", _with_sets(legacy, sets), False)]
    cases.append(("equal", proof(ledger, made["equal"], "energy.total"), False))
    paths = {"flipped": "benchmark.standing", "inflated": "energy.intensity.addedValue"}
    for name in ("doctored", "lowered", "flipped", "inflated", "levels", "basis"):
        cases.append((name, proof(ledger, made[name], paths.get(name, "energy.total")), False))
    edits = _edits(sets)
    doctored = proof(ledger, made["doctored"], "energy.total")
    cases.append(("doctored-served", tamper_figure(doctored, edits["doctored-document"]), True))
    levels = proof(ledger, made["levels"], "benchmark.standing")
    cases.append(("levels-served", tamper_figure(levels, edits["level-edited"]), True))
    cases += [(n, tamper_figure(honest, c), False) for n, c in edits.items()]
    expected = assert_agree("figure", cases, verify_figure, ledger.env["CARBON_RPC_URL"])
    failures = {name: verdict[1:3] for name, verdict in expected.items() if not verdict[0]}
    valid = {name for name, verdict in expected.items() if verdict[0]}
    honest_names = {name for name, _, _ in cases[:10]}  # up to the legacy total, inclusive
    assert valid == honest_names | {"equal"}
    assert failures == {
        "legacy-with-sets": ("factor-set", "EnergySetMismatch"),
        "doctored": ("factor-set", "EnergySetMismatch"),
        "lowered": ("figures", "EnergyMismatch"),
        "flipped": ("figures", "BenchmarkMismatch"),
        "inflated": ("figures", "EnergyMismatch"),
        "levels": ("factor-set", "BenchmarkLevelsMismatch"),
        "basis": ("figures", "EnergyMismatch"),
        "doctored-served": ("factor-set", "EnergySetUnpublished"),
        "levels-served": ("factor-set", "BenchmarkLevelsUnpublished"),
        "figure-value": ("figures", "FigureMismatch"),
        "no-sets": ("figures", "FigureMismatch"),
        "doctored-document": ("factor-set", "EnergySetMismatch"),
        "level-edited": ("factor-set", "BenchmarkLevelsMismatch"),
        "not-a-level-set": ("factor-set", "EnergySetMismatch"),
        "swapped-sets": ("factor-set", "EnergySetMismatch"),
        "unknown-figure": ("figures", "FigureMismatch"),
        "standing-claimed": ("figures", "FigureMismatch"),
    }
