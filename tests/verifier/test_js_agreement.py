"""The browser verifier (``web-verifier/``) agrees with ``carbon-verify``: on valid bundles and
on every tampering the Python verifier tests cover, both give the same verdict, the same failed
check and the same failure name. All cases run through one node process."""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import random
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from accounting.factors import load_factor_set
from accounting.grading import grade, load_ruleset
from accounting.grid import select_grid_factor
from accounting.regions import PROVINCES
from anchoring.anchor_contract import AnchorContract
from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.declarations import declare_added_value
from devtools.seeding import enterprise_key
from ledger_api.commands.serve import build_worker
from terminal.client import SignedRecord, Terminal
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.adversary import rewrite_entry
from tests.ledger_api.evaluations.helpers import anchored_hours
from tests.verifier.asset_bundle_factory import (
    ASSET,
    ENTERPRISE_A,
    ENTERPRISE_B,
    KEPT_BY_A,
    LOT_FIRST,
    LOT_LAST,
    RETIRE_AT,
    RETIRE_FIRST,
    RETIRE_LAST,
    TRANSFER_FIRST,
    TRANSFER_LAST,
    IssuerSet,
    Op,
    SignerSet,
    Step,
    build_case,
    holding_claim,
    retirement_claim,
    standard_history,
)
from tests.verifier.asset_bundle_factory import tamper as tamper_asset
from tests.verifier.figure_case import FigureCase, figure_case, rehash_manifest, reprove
from tests.verifier.figure_case import tamper as tamper_figure
from tests.verifier.js_runner import REPO, Change, assert_agree, run_js, run_node, verdict
from tests.verifier.record_bundle_factory import (
    DEV_CHAIN_ID,
    make_case,
    make_record,
    new_key,
    tamper,
)
from tests.verifier.register_case import Case as RegisterCase
from tests.verifier.register_case import edits as register_edits
from tests.verifier.register_case import register_case
from tests.verifier.register_case import tamper as tamper_registers
from verifier.checks.asset import ASSET_CHECKS, AssetVerificationResult, verify_asset
from verifier.checks.figure import verify_figure
from verifier.checks.record import verify_record
from verifier.errors import AssetRuleError
from verifier.formats.asset import AssetProofBundle
from verifier.formats.figure import FigureProofBundle
from verifier.formats.record import RecordProofBundle
from verifier.protocol import lot_rules
from verifier.protocol.asset_ops import AssetOperation
from verifier.protocol.keccak import keccak256
from verifier.protocol.lot_rules import RULE_CODES, LotState
from verifier.protocol.manifest import section_leaf
from verifier.protocol.merkle import process_proof
from verifier.protocol.typed_data import (
    SECP256K1_N,
    ActivityRecord,
    Domain,
    sign_record,
    typed_data,
)
from verifier.rpc import JsonRpcReader

TINY_CONTRACT = "0x6001600c60003960016000f300"  # deploys the one-byte runtime 0x00


def _set(path: str, value: Any) -> Change:
    *parents, last = path.split(".")

    def change(data: dict[str, Any]) -> None:
        for part in parents:
            data = data[int(part)] if isinstance(data, list) else data[part]
        data[last] = value

    return change


def _record_cases(
    anchor: AnchorContract, operator: LocalAccount, w3: Web3, tmp: Path
) -> list[tuple[str, RecordProofBundle, bool]]:
    """The tamperings of test_verify_record.py, each as (name, bundle, online)."""
    case = make_case(anchor, operator)
    b = case.bundle
    sig = bytes.fromhex(b.signature[2:])
    high_s = (SECP256K1_N - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big")
    device = b.typed_data["message"]["device"]
    forged = sign_record(new_key(), case.domain, make_record(device, 5))
    other = Domain(DEV_CHAIN_ID, "0x" + "42" * 20)

    def rewrite_domain(data: dict[str, Any]) -> None:
        data["typedData"] = typed_data(other, make_record(device, 5))
        data["anchor"]["contract"] = other.verifying_contract

    def node(index: int, value: str) -> Change:
        return lambda data: data["proof"].__setitem__(index, value)

    def bump_manifest(data: dict[str, Any]) -> None:
        stated = data["batch"].get("manifest") or data["batch"]["section"]  # v1 or v2
        stated["devices"][0]["lastSeq"] += 1

    edits: dict[str, Change] = {
        "quantity": _set("typedData.message.quantity", "125001"),
        "swapped-signature": _set("signature", "0x" + case.neighbour_signature.hex()),
        "foreign-signature": _set("signature", "0x" + forged.hex()),
        "malleable": _set("signature", "0x" + (sig[:32] + high_s + bytes((55 - sig[64],))).hex()),
        "attributes": _set("attributes.lossFactor", "0.5"),
        "undisclosed-attributes": _set("attributes", None),
        "leaf": _set("leaf.aux", "0x" + "11" * 32),
        "dropped-node": lambda data: data["proof"].pop(),
        "changed-node": node(0, "0x" + "ab" * 32),
        "malformed-node": node(0, "0x1234"),
        "manifest": bump_manifest,
        "rewritten-domain": rewrite_domain,
        "event-source": _set("authorization.0.event.sources", ["88.118.8/ENT-0001/SRC-OTHER"]),
        "event-subject": _set("authorization.0.event.subject", "0x" + "42" * 20),
        "registry-dropped": lambda data: data.pop("registry"),
        "registry-empty": _set("registry", []),
        "registry-forged": _set("registry.2.event.signature", "0x" + forged.hex()),
        "registry-cut": lambda data: data["registry"].pop(1),
        "batch-id": _set("anchor.batchId", 7),
        "block-number": _set("anchor.blockNumber", 1),
        "log-index": _set("anchor.logIndex", b.anchor.log_index + 1),
        "block-hash": _set("anchor.blockHash", "0x" + "00" * 32),
        "tx-hash": _set("anchor.txHash", "0x" + "00" * 32),
        "other-tx": _set("anchor.txHash", make_case(anchor, operator).bundle.anchor.tx_hash),
    }
    cases = [("valid", b, True), ("valid-offline", b, False)]
    cases += [(name, tamper(b, change), True) for name, change in edits.items()]
    cases += _section_cases(make_case(anchor, operator, legacy=True).bundle, b)
    tx = w3.eth.send_transaction({"from": operator.address, "data": TINY_CONTRACT})
    tiny = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    fresh, _ = deploy(w3, operator, tmp / "other")
    for name, kwargs in {
        "other-chain-domain": {"domain": Domain(1, anchor.address)},
        "other-contract-domain": {"domain": other},
        "wrong-chain-id": {"chain_id": 1},
        "not-anchored": {"contract": fresh.address},
        "no-code": {"contract": operator.address},
        "other-code": {"contract": tiny},
    }.items():
        cases.append((name, make_case(anchor, operator, **kwargs).bundle, True))  # type: ignore[arg-type]
    return cases


def _section_cases(
    legacy: RecordProofBundle, current: RecordProofBundle
) -> list[tuple[str, RecordProofBundle, bool]]:
    """The manifest-scheme tamperings of test_manifest_sections.py."""
    flat = legacy.batch.model_dump(mode="json", by_alias=True)["manifest"]
    stated = current.batch.model_dump(mode="json", by_alias=True)

    def section_for_flat(data: dict[str, Any]) -> None:
        del data["batch"]["manifest"]
        data["batch"] |= {"section": stated["section"], "sectionProof": stated["sectionProof"]}

    def flat_for_section(data: dict[str, Any]) -> None:
        del data["batch"]["section"], data["batch"]["sectionProof"]
        data["batch"]["manifest"] = flat

    def device_twice(data: dict[str, Any]) -> None:
        batch = data["batch"]
        section = batch["section"]
        section["devices"].append(next(d for d in section["devices"] if d["count"] == 1))
        section["kinds"]["1"] += 1
        section["leafCount"] += 1
        path = [bytes.fromhex(n[2:]) for n in batch["sectionProof"]]
        batch["manifestHash"] = "0x" + process_proof(section_leaf(section), path).hex()

    return [
        ("legacy", legacy, True),
        ("section-for-flat", tamper(legacy, section_for_flat), False),
        ("flat-for-section", tamper(current, flat_for_section), False),
        ("device-twice", tamper(current, device_twice), False),
    ]


def test_record_verdicts_agree(
    dev_chain: DevChain,
    anchor: AnchorContract,
    operator_account: LocalAccount,
    w3: Web3,
    tmp_path: Path,
) -> None:
    cases = _record_cases(anchor, operator_account, w3, tmp_path)
    expected = assert_agree("record", cases, verify_record, dev_chain.rpc_url)
    assert sum(valid for valid, *_ in expected.values()) == 4  # valid twice, legacy, undisclosed
    assert len({check for _, check, *_ in expected.values()}) >= 10


# --- figure proofs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def figures(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FigureCase]:
    yield from figure_case(dev_chain, w3, operator_account, tmp_path_factory.mktemp("ledger"))


@pytest.fixture(scope="module")
def registers(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RegisterCase]:
    yield from register_case(dev_chain, w3, operator_account, tmp_path_factory.mktemp("ledger"))


def test_register_form_verdicts_agree(registers: RegisterCase, dev_chain: DevChain) -> None:
    """The register form (docs/figure-proof-format.md section 11) and every operator edit of
    tests/verifier/register_case.py: the same verdicts in the browser."""
    cases: list[tuple[str, Any, bool]] = [
        ("registers", registers.registers, True),
        ("records", registers.records, True),
    ]
    for name, (change, _) in register_edits(registers).items():
        cases.append((name, tamper_registers(registers.registers, change), False))
    expected = assert_agree("figure", cases, verify_figure, dev_chain.rpc_url)
    assert expected["registers"][0] and expected["records"][0]
    assert expected["epoch-change-hidden"][1:3] == ("completeness", "RegisterEpochHidden")


def _signed_json(signed: SignedRecord) -> dict[str, Any]:
    return {
        "message": signed.record.to_message(),
        "signature": "0x" + signed.signature.hex(),
        "attributes": None,
    }


def _drop_record(data: dict[str, Any], index: int) -> None:
    data["records"].pop(index)
    for batch in data["batches"]:
        batch["records"] = [r - (r > index) for r in batch["records"] if r != index]


def _whole_batch(bundle: FigureProofBundle) -> int:
    return next(b for b, x in enumerate(bundle.batches) if len(x.leaves) == x.batch.leaf_count)


def _batch_with_proof(bundle: FigureProofBundle) -> int:
    return next(b for b, batch in enumerate(bundle.batches) if batch.proof)


def _figure_edits(case: FigureCase) -> dict[str, Change]:
    """The tamperings of test_verify_figure.py and test_figure_adversary.py on A's total."""
    total, whole, proven = case.total, _whole_batch(case.total), _batch_with_proof(case.total)
    forger = Terminal.create()
    message = {**total.records[3].message, "quantity": "99999"}
    resigned = forger.sign(case.domain, ActivityRecord.from_message(message))
    own = forger.sign(
        case.domain, ActivityRecord.from_message({**message, "device": forger.address})
    )

    def missing_leaf(data: dict[str, Any]) -> None:
        batch = data["batches"][0]
        k = len(batch["records"]) // 2
        index = batch["records"].pop(k)
        batch["leaves"].pop(k)
        _drop_record(data, index)

    def missing_reproved(data: dict[str, Any]) -> None:
        index = data["batches"][whole]["records"][5]
        positions = range(len(data["batches"][whole]["records"]))
        reprove(data, whole, [k for k in positions if k != 5], whole=True)
        _drop_record(data, index)

    def hidden(data: dict[str, Any]) -> None:
        batch = data["batches"][whole]
        reprove(data, whole, list(range(len(batch["records"]))), whole=False)
        stated = batch["batch"].get("section") or batch["batch"]["manifest"]
        stated["devices"][0]["count"] += 1
        stated["kinds"]["1"] += 1
        stated["leafCount"] += 1
        batch["batch"]["leafCount"] += 1
        rehash_manifest(batch)

    def node(where: str, value: str) -> Change:
        def change(data: dict[str, Any]) -> None:
            part = data["batches"][proven] if where == "batch" else data["entryProof"]
            part["proof"][0] = value

        return change

    def factor(data: dict[str, Any]) -> None:
        grid = next(f for f in data["factorSet"]["factors"] if f["id"].startswith("grid."))
        grid["value"] = "0.1"

    def as_v1(data: dict[str, Any]) -> None:
        data.update(version=1)
        del data["devices"]

    def edited_event(data: dict[str, Any]) -> None:
        data["devices"][0]["registry"][0]["event"]["enterprise"] = case.second.entry["enterprise"]

    return {
        "missing-leaf": missing_leaf,
        "missing-reproved": missing_reproved,
        "hidden-in-batch": hidden,
        "absent-from-batches": lambda d: d["records"].append(copy.deepcopy(d["records"][0])),
        "outside-period": lambda d: d["records"].append(_signed_json(case.outside)),
        "other-enterprise": lambda d: d["records"].append(_signed_json(case.other)),
        "quantity": _set("records.3.message.quantity", "99999"),
        "resigned": lambda d: d["records"].__setitem__(3, _signed_json(resigned)),
        "forgers-own": lambda d: d["records"].__setitem__(3, _signed_json(own)),
        "factor": factor,
        "figure-value": _set("figure.value", "1.000"),
        "multiproof-node": node("batch", "0x" + "ab" * 32),
        "not-anchored": lambda d: reprove(
            d, proven, list(range(len(d["batches"][proven]["records"]))), whole=False
        ),
        "entry-path-node": node("entry", "0x" + "cd" * 32),
        "other-contract": _set("domain.verifyingContract", "0x" + "42" * 20),
        "entry-version": _set("entry.version", 2),
        "after-hidden": _set("devices.0.after", None),
        "another-edge": lambda d: d["devices"][0]["after"].update(record=d["records"][-1]),
        "other-device-evidence": lambda d: d.update(devices=case.second.to_json()["devices"]),
        "edited-event": edited_event,
        "no-evidence": lambda d: d.update(devices=[]),
        "v1": as_v1,
        # the enterprise's signed registry chain (test_registry_adversary.py forges it in the
        # database; here the bundle is edited, which the same checks must catch)
        "no-registry": lambda d: d.update(registry=[]),
        "their-registry": lambda d: d.update(registry=case.second.to_json()["registry"]),
        "registry-gap": lambda d: d["registry"].pop(1),
        "registry-edited": lambda d: d["registry"][1]["event"].update(effective=1),
    }


def _disclosure_edits(case: FigureCase) -> dict[str, Change]:
    """The tamperings of test_figure_disclosure.py: sections of the batch A and B share."""
    mine = [b.batch.root for b in case.total.batches]
    theirs = [b.batch.root for b in case.second.batches]
    (root,) = set(mine) & set(theirs)
    a, b = mine.index(root), theirs.index(root)
    other = case.second.to_json()

    def omitted_device(data: dict[str, Any]) -> None:
        batch = data["batches"][a]
        reprove(data, a, list(range(len(batch["records"]))), whole=False)
        batch["batch"]["section"]["devices"][0]["device"] = "0x" + "ab" * 20
        rehash_manifest(batch)

    def forged_count(data: dict[str, Any]) -> None:
        data["batches"][a]["batch"]["section"]["devices"][0]["count"] -= 1

    return {
        "their-section": lambda d: d["batches"][a].update(batch=other["batches"][b]["batch"]),
        "forged-section-count": forged_count,
        "omitted-device": omitted_device,
        "their-entry-section": lambda d: d["entryProof"].update(batch=other["entryProof"]["batch"]),
    }


def _grade_edits(case: FigureCase) -> dict[str, Change]:
    wrong = case.grade.entry["rating"]["grade"] % 5 + 1
    return {
        "grade-in-entry": lambda d: d["entry"]["rating"].update(grade=wrong),
        "grade-figure": _set("figure.value", str(int(case.grade.figure.value) % 5 + 1)),
        "ruleset-version": lambda d: d["ruleset"].update(version=d["ruleset"]["version"] + "-x"),
        "no-ruleset": lambda d: d.update(ruleset=None),
    }


def test_figure_verdicts_agree(figures: FigureCase, dev_chain: DevChain) -> None:
    cases: list[tuple[str, FigureProofBundle, bool]] = [
        ("total", figures.total, True),
        ("grade", figures.grade, True),
        ("second", figures.second, True),
        ("total-offline", figures.total, False),
    ]
    for name, change in (_figure_edits(figures) | _disclosure_edits(figures)).items():
        bundle = tamper_figure(figures.total, change)
        cases += [(name, bundle, False), (name + "-online", bundle, True)]
    for name, change in _grade_edits(figures).items():
        cases.append((name, tamper_figure(figures.grade, change), False))
    expected = assert_agree("figure", cases, verify_figure, dev_chain.rpc_url)
    assert expected["not-anchored-online"][1] == "anchored"
    assert len({check for _, check, *_ in expected.values()}) >= 9


def test_unit_table_is_the_engines() -> None:
    """The browser's unit ratios are the accounting engine's, for every published factor set:
    regenerate with ``python web-verifier/make_units.py`` when this fails."""
    spec = importlib.util.spec_from_file_location(
        "make_units", REPO / "web-verifier" / "make_units.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (
        REPO / "web-verifier" / "src" / "accounting" / "units.json"
    ).read_text() == module.render()


GRID_SCRIPT = """
import { readFileSync } from 'node:fs';
import { parseFactorSet } from './web-verifier/src/accounting/factors.mjs';
import { selectGridFactor } from './web-verifier/src/accounting/grid.mjs';
const { document, cases } = JSON.parse(readFileSync(0, 'utf8'));
const factorSet = parseFactorSet(document);
const out = cases.map(([region, year]) => selectGridFactor(factorSet, region, year));
process.stdout.write(JSON.stringify(out));
"""


def test_grid_rule_agrees() -> None:
    """The grid factor the browser's copy of the selection rule chooses (check ``figures``,
    GridFactorMismatch) is the engine's, for region texts of every form and years around the
    data years."""
    factor_set = load_factor_set("cn-ghg-v2")
    regions = [None, "", "Atlantis", "710000", "999999", "cn-zj-huzhou", "广西壮族自治区", "Yunnan"]
    regions += ["inner mongolia", "上海市", "150000", *(f"{code}0000" for code in PROVINCES)]
    cases = [(region, year) for region in regions for year in (2015, 2019, 2021, 2022, 2030)]
    payload = {"document": dict(factor_set.document), "cases": cases}
    chosen_in_js = run_node(["--input-type=module", "-e", GRID_SCRIPT], payload)
    expected = [
        [chosen.factor.id, chosen.level]
        for chosen in (select_grid_factor(factor_set, region, year) for region, year in cases)
    ]
    assert chosen_in_js == expected
    assert {level for _, level in expected} >= {"province", "region", "national", "default"}


# --- entries the operator forged before anchoring ---------------------------------------------

FORGED = "88.118.8/ENT-AL-JS-FORGED"
FORGED_GRID = "88.118.8/SRC-AL-JS-FORGED-GRID"
JUNE_2025_CST = 1_748_707_200  # 2025-06-01T00:00:00+08:00


def _regraded(added_value: str) -> Change:
    """L, K and the grade made consistent with another added value, as the ledger's own
    grading would write them."""

    def change(entry: dict[str, Any]) -> None:
        emissions = Decimal(entry["rating"]["emissions_t"])
        ruleset = load_ruleset(entry["rating"]["ruleset"]["id"])
        rating = grade(emissions, Decimal(added_value), entry["industry"], 2025, ruleset)
        entry["rating"] = rating.to_dict()

    return change


def _set_figure(block: str, path: str, value: str) -> Change:
    def change(entry: dict[str, Any]) -> None:
        head, _, rest = path.partition(".")
        figures = entry["accounting"]["figures"][block]
        if rest:
            figures[head][rest] = value
        else:
            figures[head] = value

    return change


def _declare(ledger: LedgerServer, day: int) -> None:
    """The enterprise signs an added value of 20 万元 for the day (check inputs)."""
    period = (dt.date(2025, 6, day), dt.date(2025, 6, day))
    with ledger.client() as http:
        domain = ledger.ledger_client().domain()
        key = enterprise_key(FORGED)
        answer = declare_added_value(http, domain, key, FORGED, period, Decimal(20))
    assert answer.status_code == 201, answer.text


def test_forged_entries_agree(ledger: LedgerServer) -> None:
    """Entries rewritten before anchoring reach the checks no bundle edit can: the period, the
    figures recomputed, the grid factor's rule, the grade and the inputs' status."""
    days = 12  # one evaluated day per forgery: the ledger evaluates a period once at a time
    anchored_hours(
        ledger, FORGED, FORGED_GRID, "aluminium", JUNE_2025_CST, 24 * days, 10_000, "330502"
    )
    source = f"bySource.{FORGED_GRID}"
    forgeries: dict[str, Change | None] = {
        "honest": None,
        "period": lambda e: e["period"].update(end="2025-06-13"),
        "exact-total": _set_figure("exact", "total", "1"),
        "reported-source": _set_figure("reported", source, "1.000"),
        "grid-level": lambda e: e["accounting"]["gridFactor"].update(level="national"),
        "grid-override": lambda e: e["accounting"]["gridFactor"].update(level="override"),
        "grade": lambda e: e["rating"].update(grade=e["rating"]["grade"] % 5 + 1),
        "K": lambda e: e["rating"]["K"].update(exact="0.1"),
        "average": lambda e: e["rating"]["industry_average"].update(value="30"),
        "regraded": _regraded("40"),
        "declared": None,
        "declared-regraded": _regraded("40"),
    }
    made = {}
    for day, (name, change) in enumerate(forgeries.items(), start=1):
        date = f"2025-06-{day:02d}"
        if name.startswith("declared"):
            _declare(ledger, day)
        body = {"enterprise": FORGED, "periodStart": date, "periodEnd": date, "addedValue": "20"}
        answer = ledger.post("/v1/evaluations", json={**body, "ruleset": "zj-huzhou-2021"})
        assert answer.status_code == 201, answer.text
        made[name] = answer.json()["identifier"]
        if change is not None:
            rewrite_entry(ledger, made[name], change)
    build_worker(ledger.settings()).run_once()
    cases = []
    for name, identifier in made.items():
        got = ledger.get(f"/v1/evaluations/{identifier}/proof", params={"figure": "total"})
        assert got.status_code == 200, got.text
        cases.append((name, FigureProofBundle.model_validate(got.json()), True))
    rpc_url = ledger.env["CARBON_RPC_URL"]
    expected = assert_agree("figure", cases, verify_figure, rpc_url)
    assert expected["honest"][0] and expected["regraded"][0]  # NOT attested: a warning only
    assert expected["declared"][0] and expected["declared-regraded"][2] == "AddedValueMismatch"
    failed = {check for _, check, *_ in expected.values()}
    assert {"period", "figures", "rating"} <= failed
    # Energy figures (GB/T 2589) are recomputed in the browser too (forged ones:
    # test_js_energy_agreement.py).
    energy = ledger.get(
        f"/v1/evaluations/{made['honest']}/proof", params={"figure": "energy.total"}
    )
    bundle = FigureProofBundle.model_validate(energy.json())
    assert assert_agree("figure", [("energy", bundle, True)], verify_figure, rpc_url)["energy"][0]


# --- asset proofs ----------------------------------------------------------------------------


def _history(**at: list[Step]) -> list[list[Step]]:
    """The standard history (issue, transfer, accept, retire), with batches replaced by index
    (``b0`` … ``b3``) or appended (``extra``)."""
    batches = standard_history(new_key(), new_key())
    for name, steps in at.items():
        if name == "extra":
            batches.append(steps)
        else:
            batches[int(name[1:])] = steps
    return batches


def _reissued(**changes: Any) -> list[list[Step]]:
    """The standard history with its issue's fields changed before it is signed."""
    batches = _history()
    issue = batches[0][-1]
    assert isinstance(issue, Op)
    batches[0][-1] = replace(issue, changes=changes)
    return batches


def _signed_by(step: Step, key: Any) -> Step:
    assert isinstance(step, Op)
    return replace(step, key=key)


def _built_asset_cases(
    anchor: AnchorContract, operator: LocalAccount, w3: Web3, tmp: Path
) -> list[tuple[str, AssetProofBundle]]:
    """Histories signed and anchored as test_verify_asset.py and test_asset_issuance.py build
    them, and one per lot rule a signed, anchored operation can break."""

    def build(batches: list[list[Step]], claim: dict[str, Any] = KEPT_BY_A, **kw: Any) -> Any:
        return build_case(anchor, operator, batches, claim, **kw).bundle

    a, b = ENTERPRISE_A, ENTERPRISE_B
    t_first, t_last = TRANSFER_FIRST, TRANSFER_LAST
    old, new, key_b, key_a = new_key(), new_key(), new_key(), new_key()
    rotated = standard_history(old, key_b)
    rotated.insert(1, [SignerSet(a, new)])
    same_block = standard_history(old, key_b)
    same_block[1] = [SignerSet(a, new), _signed_by(same_block[1][0], old)]
    rotated_away = standard_history(old, key_b)
    rotated_away[1] = [_signed_by(rotated_away[1][0], old)]
    rotated_away.insert(1, [SignerSet(a, new)])
    named_late = standard_history(key_a, key_b)
    del named_late[0][1]
    named_late[1] = [_signed_by(named_late[1][0], key_a)]
    named_late.insert(2, [SignerSet(a, key_a)])
    self_issued = standard_history(key_a, key_b)
    self_issued[0][-1] = _signed_by(self_issued[0][-1], key_a)
    ccer = new_key()
    other_programme = standard_history(new_key(), new_key())
    other_programme[0].insert(0, IssuerSet("CCER", ccer))
    other_programme[0][-1] = _signed_by(other_programme[0][-1], ccer)
    sender_accepts = standard_history(key_a, key_b)
    sender_accepts[2] = [_signed_by(sender_accepts[2][0], key_a)]
    unaccepted = standard_history(new_key(), new_key())
    del unaccepted[2]
    issue = standard_history(new_key(), new_key())[0][-1]
    elsewhere = Domain(DEV_CHAIN_ID, "0x" + "42" * 20)
    fresh, _ = deploy(w3, operator, tmp / "asset-other")
    sent = _history()[:2]
    retire_b = Op("retire", b, RETIRE_FIRST, RETIRE_LAST)
    built = {
        "valid": build(_history()),
        "rotated": build(rotated),
        "rotated-same-block": build(same_block),
        "rotated-away": build(rotated_away),
        "named-late": build(named_late),
        "before-predecessor": build(_history(), anchor_order=[0, 2, 1, 3]),
        "other-domain": build(_history(), domain=elsewhere),
        "wrong-chain-id": build(_history(), chain_id=1),
        "not-anchored": build(_history(), contract=fresh.address),
        "no-code": build(_history(), contract=operator.address),
        "self-issued": build(self_issued),
        "other-programme-issuer": build(other_programme),
        "sender-accepts": build(sender_accepts),
        "unaccepted-claimed": build(sent, holding_claim(b, t_first, t_last)),
        "unaccepted-kept": build(sent, KEPT_BY_A),
        "unaccepted-retired": build(unaccepted),
        "rejected": build(
            [*sent, [Op("reject", b, t_first, t_last)]], holding_claim(a, t_first, t_last)
        ),
        "reclaimed": build(
            [*sent, [Op("reclaim", a, t_first, t_last)]], holding_claim(a, t_first, t_last)
        ),
        "partly-accepted": build(
            [
                *sent,
                [Op("accept", b, t_first, t_first + 9)],
                [Op("reclaim", a, t_first + 10, t_last)],
            ],
            holding_claim(b, t_first, t_first + 9),
        ),
        "surrendered": build(_history(b3=[Op("surrender", b, RETIRE_FIRST, RETIRE_LAST)])),
        # one signed, anchored operation per lot rule a bundle can reach
        "insufficient_holding": build(_history(b3=[Op("transfer", b, t_first, t_last + 1, a)])),
        "terms_mismatch": build(_history(b3=[replace(retire_b, changes={"vintage": 2024})])),
        "recipient_not_allowed": build(_history(b3=[replace(retire_b, recipient=a)])),
        "already_retired": build(_history(extra=[Op("transfer", b, RETIRE_LAST, RETIRE_LAST, a)])),
        "not_pending": build(_history(b2=[Op("accept", a, t_first, t_last)])),
        "recipient_required": build(_history(b3=[Op("transfer", b, t_first, t_last)])),
        "recipient_is_owner": build(_history(b3=[Op("transfer", b, t_first, t_last, b)])),
        "range_invalid": build(_history(b3=[Op("retire", b, RETIRE_LAST, RETIRE_FIRST)])),
        "range_outside_lot": build(_history(b3=[Op("retire", b, LOT_FIRST - 1, RETIRE_LAST)])),
        "asset_exists": build(_history(extra=[issue])),
        "prev_not_zero": build(_reissued(prev=b"\x11" * 32)),
        "non_canonical_serial_prefix": build(_reissued(serial_prefix="cn-cea-2025-")),
    }
    return list(built.items())


def _asset_edits(valid: AssetProofBundle) -> dict[str, Change]:
    """The tamperings of test_verify_asset.py and test_asset_issuance.py on the standard
    history."""
    ops = [o["operation"] for o in valid.to_json()["operations"]]
    sigs = [bytes.fromhex(o.signature[2:]) for o in valid.operations]
    high_s = (SECP256K1_N - int.from_bytes(sigs[0][32:64], "big")).to_bytes(32, "big")
    flipped = "0x" + (sigs[0][:32] + high_s + bytes((55 - sigs[0][64],))).hex()
    bad_v = "0x" + (sigs[1][:64] + bytes((29,))).hex()
    digests = [o.leaf.digest for o in valid.operations]
    retire = digests[RETIRE_AT]

    def claim(claimed: dict[str, Any]) -> Change:
        return lambda d: d.update(claim=claimed)

    def retirement(holder: str, first: int, last: int, operation: str) -> Change:
        return claim(retirement_claim(holder, first, last, bytes.fromhex(operation[2:])))

    def on_op(index: int, field: str, value: Any) -> Change:
        return lambda d: d["operations"][index]["operation"].update({field: value})

    def on_event(index: int, **fields: Any) -> Change:
        return lambda d: d["signers"][index]["event"].update(fields)

    def swap(d: dict[str, Any]) -> None:
        d["operations"][1], d["operations"][2] = d["operations"][2], d["operations"][1]

    def manifest(d: dict[str, Any]) -> None:
        batch = d["operations"][1]["batch"]
        if "section" in batch:
            batch["section"]["kinds"]["5"] += 1
        else:
            batch["manifest"]["enterprises"][0]["count"] += 1

    b_kept = holding_claim(ENTERPRISE_B, RETIRE_LAST + 1, TRANSFER_LAST)
    return {
        "retirement": retirement(ENTERPRISE_B, RETIRE_FIRST, RETIRE_LAST, retire),
        "part-of-retirement": retirement(
            ENTERPRISE_B, RETIRE_FIRST + 49, RETIRE_FIRST + 99, retire
        ),
        "recipient-holds": claim(b_kept),
        "malformed-node": lambda d: d["operations"][1]["proof"].__setitem__(0, "0x12"),
        "domain-chain": lambda d: d["domain"].update(chainId=1),
        "foreign-operation": on_op(2, "asset", ASSET + "-2"),
        "missing-field": lambda d: d["operations"][1]["operation"].pop("prev"),
        "vintage": on_op(0, "vintage", 1999),
        "serials-as-strings": lambda d: d["operations"][1]["operation"].update(
            first=str(ops[1]["first"]), last=str(ops[1]["last"])
        ),
        "malleable": lambda d: d["operations"][0].update(signature=flipped),
        "recovery-id": lambda d: d["operations"][1].update(signature=bad_v),
        "changed-quantity": on_op(1, "last", TRANSFER_LAST + 100),
        "missing-signer-event": lambda d: d["signers"].pop(2),
        "withheld-issuer-event": lambda d: d["signers"].pop(0),
        "lower-case-signer": lambda d: on_event(
            0, signer=d["signers"][0]["event"]["signer"].lower()
        )(d),
        "event-subject": on_event(1, subject=ENTERPRISE_B),
        "issuer-event-moved": on_event(0, subject="CCER"),
        "event-type": on_event(0, type="device.registered"),
        "event-format": on_event(0, format="other"),
        "event-path": lambda d: d["signers"][0]["proof"].__setitem__(0, "0x" + "ab" * 32),
        "leaf-aux": lambda d: d["operations"][1]["leaf"].update(aux="0x" + "11" * 32),
        "proof-node": lambda d: d["operations"][2]["proof"].__setitem__(0, "0x" + "ab" * 32),
        "dropped-node": lambda d: d["operations"][2]["proof"].pop(),
        "manifest": manifest,
        "dropped-operation": lambda d: d["operations"].pop(1),
        "dropped-issue": lambda d: d["operations"].pop(0),
        "reordered": swap,
        "repeated": lambda d: d["operations"].append(d["operations"][2]),
        "not-held-by-b": claim(holding_claim(ENTERPRISE_B, TRANSFER_FIRST, TRANSFER_LAST)),
        "not-held-by-a": claim(holding_claim(ENTERPRISE_A, TRANSFER_FIRST, TRANSFER_LAST)),
        "beyond-the-lot": claim(holding_claim(ENTERPRISE_A, TRANSFER_LAST + 1, LOT_LAST + 1)),
        "retired-by-transfer": retirement(ENTERPRISE_A, TRANSFER_FIRST, TRANSFER_LAST, digests[1]),
        "retired-by-other": retirement(ENTERPRISE_A, RETIRE_FIRST, RETIRE_LAST, retire),
        "beyond-retirement": retirement(ENTERPRISE_B, RETIRE_FIRST, RETIRE_LAST + 1, retire),
        "unknown-retirement": retirement(ENTERPRISE_B, RETIRE_FIRST, RETIRE_LAST, "0x" + "00" * 32),
        "other-lot-claim": claim(KEPT_BY_A | {"asset": ASSET + "-2"}),
        "empty-claim": claim(holding_claim(ENTERPRISE_A, LOT_LAST, TRANSFER_LAST + 1)),
        "batch-id": lambda d: d["operations"][1]["anchor"].update(batchId=99),
        "root-at-two-anchors": lambda d: d["signers"][0]["anchor"].update(logIndex=5),
        "log-index": lambda d: d["operations"][2]["anchor"].update(
            logIndex=d["operations"][2]["anchor"]["logIndex"] + 1
        ),
    }


def _asset_outcome(result: AssetVerificationResult | dict[str, Any]) -> tuple[Any, ...]:
    """The verdict, the broken lot rule and the operation breaking it, and what a valid
    bundle proves."""
    if isinstance(result, dict):
        summary = result.get("asset") if result.get("valid") else None
        return verdict(result), result.get("rule"), result.get("index"), summary
    failure = result.failure
    rule = None if failure is None else (failure.rule, failure.index)
    summary = result.to_json()["asset"] if result.valid else None
    return verdict(result), *(rule or (None, None)), summary


def test_asset_verdicts_agree(
    dev_chain: DevChain,
    anchor: AnchorContract,
    operator_account: LocalAccount,
    w3: Web3,
    tmp_path: Path,
) -> None:
    built = _built_asset_cases(anchor, operator_account, w3, tmp_path)
    valid = built[0][1]
    built += [(name, tamper_asset(valid, change)) for name, change in _asset_edits(valid).items()]
    cases = [
        (n + suffix, b, online)
        for n, b in built
        for suffix, online in (("", False), ("-online", True))
    ]
    rpc = JsonRpcReader(dev_chain.rpc_url)
    expected = {n: _asset_outcome(verify_asset(b, rpc if on else None)) for n, b, on in cases}
    js = run_js(
        dev_chain.rpc_url,
        [{"kind": "asset", "bundle": b.to_json(), "online": on} for _, b, on in cases],
    )
    got = {name: _asset_outcome(r) for (name, _, _), r in zip(cases, js, strict=True)}
    differ = {
        n: (expected[n], got[n], js[i].get("reason") or js[i].get("error"))
        for i, n in enumerate(expected)
        if got[n] != expected[n]
    }
    assert not differ
    rules = {rule for _, rule, _, _ in expected.values() if rule}
    assert rules == set(RULE_CODES) - {"unknown_asset", "stale_prev"}  # history stops those two
    assert expected["valid-online"][0][0] and expected["retirement-online"][0][0]
    assert {v[1] for v, *_ in expected.values()} == {None, *ASSET_CHECKS}  # each check fails


LOT_RULES_SCRIPT = """
import { readFileSync } from 'node:fs';
import { assetOperationFromMessage } from './web-verifier/src/protocol/asset-ops.mjs';
import { AssetRuleError, apply, holdings, pending }
  from './web-verifier/src/protocol/lot-rules.mjs';
import { fromHex } from './web-verifier/src/protocol/bytes.mjs';
const numbers = (totals) =>
  Object.fromEntries(Object.entries(totals).map(([k, q]) => [k, Number(q)]));
const out = JSON.parse(readFileSync(0, 'utf8')).map((history) => {
  let state = null;
  const steps = history.map(([message, digest]) => {
    try {
      state = apply(state, assetOperationFromMessage(message), fromHex(digest));
      return null;
    } catch (exc) {
      if (!(exc instanceof AssetRuleError)) throw exc;
      return [exc.code, exc.field];
    }
  });
  const ranges = state && state.ranges.map(({ first, last, status, holder, origin }) =>
    ({ first: Number(first), last: Number(last), status, holder, ...(origin ? { origin } : {}) }));
  return [steps, state && { ranges, operations: state.operations,
    holdings: numbers(holdings(state)), pending: numbers(pending(state)) }];
});
process.stdout.write(JSON.stringify(out));
"""


def _rule_histories() -> list[list[AssetOperation]]:
    """Histories over a lot of 100 serials: every rule broken where test_asset_replay.py breaks
    it, and random histories of every action, many of them refused, a few from stale prevs."""
    a, b, c = "ENT-A", "ENT-B", "ENT-C"

    def op(action: str, owner: str, first: int, last: int, **more: Any) -> AssetOperation:
        fields = {"action": action, "asset": "LOT-1", "program": "CCER", "vintage": 2024}
        fields |= {"serial_prefix": "CN-CCER-", "first": first, "last": last, "owner": owner}
        fields |= {"recipient": "", "prev": bytes(32), "reference": "", "timestamp": 1}
        return AssetOperation(**(fields | more))

    issue = op("issue", a, 101, 200)
    send = op("transfer", a, 121, 150, recipient=b)
    fixed = [
        [issue, issue],
        [replace(issue, prev=b"\x07" * 32)],
        [replace(issue, recipient=b)],
        [replace(issue, first=200, last=101)],
        [replace(issue, serial_prefix="cn-ccer-")],
        [replace(issue, serial_prefix="CN CCER")],
        [send],
        [issue, send, send],
        *(
            [issue, replace(send, **{f: v})]
            for f, v in (
                ("asset", "LOT-2"),
                ("program", "CEA"),
                ("vintage", 2025),
                ("serial_prefix", "CN-CEA-"),
            )
        ),
        [issue, replace(send, first=150, last=121)],
        [issue, replace(send, first=100)],
        [issue, replace(send, last=201)],
        [issue, op("retire", a, 101, 110), op("transfer", a, 105, 115, recipient=b)],
        [issue, send, op("accept", b, 121, 150), op("transfer", b, 121, 151, recipient=c)],
        [issue, op("retire", c, 101, 101)],
        [issue, send, op("retire", b, 125, 130), op("surrender", a, 140, 160)],
        [issue, send, op("accept", c, 121, 150), op("accept", b, 121, 151)],
        [issue, send, op("reject", a, 121, 150), op("reclaim", b, 121, 150)],
        [issue, op("accept", a, 101, 110), send, op("accept", b, 121, 150, recipient=a)],
        [issue, replace(send, recipient=""), replace(send, recipient=a)],
        [issue, op("retire", a, 101, 110, recipient=b), op("surrender", a, 101, 110, recipient=b)],
        [issue, send, op("reject", b, 121, 150)],
        [issue, send, op("accept", b, 121, 130), op("reclaim", a, 131, 150)],
        [
            issue,
            send,
            op("accept", b, 121, 150),
            op("retire", b, 121, 130),
            op("surrender", a, 151, 160),
            op("transfer", b, 131, 150, recipient=a),
            op("accept", a, 131, 150),
        ],
    ]
    rng = random.Random(17)
    actions = (
        "transfer",
        "transfer",
        "accept",
        "accept",
        "reject",
        "reclaim",
        "retire",
        "surrender",
    )
    for _ in range(60):
        history = [replace(issue, first=10, last=41)]
        for _ in range(40):
            first = rng.randint(8, 43)
            action = rng.choice(actions)
            recipient = rng.choice((a, b, c)) if action == "transfer" else ""
            owner = rng.choice((a, b, c))
            history.append(op(action, owner, first, first + rng.randint(0, 8), recipient=recipient))
        fixed.append(history)
    return fixed


def _linked(history: list[AssetOperation]) -> list[tuple[AssetOperation, bytes]]:
    """Each operation after the first names the last accepted one as prev (1 in 10 a stale
    one), as its signer would; digests stand in for EIP-712 digests."""
    state: LotState | None = None
    linked = []
    for n, operation in enumerate(history):
        digest = keccak256(n.to_bytes(8, "big"))
        if state is not None and operation.action != "issue" and operation.prev == bytes(32):
            stale = n % 10 == 9
            operation = replace(operation, prev=keccak256(b"stale") if stale else state.head)
        linked.append((operation, digest))
        with suppress(AssetRuleError):  # a refused operation leaves the state as it was
            state = lot_rules.apply(state, operation, digest)
    return linked


def test_lot_rules_agree() -> None:
    """The browser's lot rules refuse the same operations, with the same code and field, and
    leave the same ranges, holdings and pending quantities, as verifier.protocol.lot_rules."""
    histories = [_linked(h) for h in _rule_histories()]
    expected = []
    for history in histories:
        state: LotState | None = None
        steps: list[list[str] | None] = []
        for operation, digest in history:
            try:
                state = lot_rules.apply(state, operation, digest)
                steps.append(None)
            except AssetRuleError as exc:
                steps.append([exc.code, exc.field])
        final = state and {
            "ranges": state.to_json()["ranges"],
            "operations": state.operations,
            "holdings": lot_rules.holdings(state),
            "pending": lot_rules.pending(state),
        }
        expected.append([steps, final])
    messages = [[[o.to_message(), "0x" + d.hex()] for o, d in h] for h in histories]
    assert run_node(["--input-type=module", "-e", LOT_RULES_SCRIPT], messages) == expected
    codes = {step[0] for steps, _ in expected for step in steps if step}
    assert codes == set(RULE_CODES)
