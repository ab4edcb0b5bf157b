"""The anchoring worker against a real chain and database, including crashes at every step."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from anchoring.anchor_contract import AnchorContract, AnchorReceipt, SignedAnchor
from anchoring.batching import BuiltBatch, section_tree
from anchoring.worker import AnchorWorker
from devtools.seeding import register, signed_readings
from ledger_api.commands.serve import build_worker
from ledger_api.core.db import make_engine
from ledger_api.ledger.anchor_store import SqlBatchStore
from terminal.client import Terminal
from tests.conftest import LedgerServer
from verifier.formats.record import RecordProofBundle, SectionedManifest
from verifier.protocol.manifest import section_leaf
from verifier.protocol.merkle import StandardMerkleTree, process_proof

REPO = Path(__file__).resolve().parents[2]
ENTERPRISE = "88.118.8/ENT-AL-01"
SOURCES = ["88.118.8/SRC-AL-01-POTLINE", "88.118.8/SRC-AL-01-GRID"]
RECORDS = 40 + 23  # readings 1..40 of one terminal and 7..29 of the other
EVENTS = 1 + 2 + 2  # registry events: the enterprise, two sources, two terminals
LEAVES = RECORDS + EVENTS


class Crash(Exception):
    """Stands for the process dying at this point."""


class CrashingStore(SqlBatchStore):
    """A store that dies once, right after (or instead of) one of its steps."""

    def __init__(self, base: SqlBatchStore, at: str) -> None:
        super().__init__(base.engine, base.chain_id, base.contract)
        self.at = at

    def create_batch(self, batch: BuiltBatch) -> int:
        batch_id = super().create_batch(batch)
        if self.at == "after_create":
            raise Crash
        return batch_id

    def mark_sent(self, batch_id: int, signed: SignedAnchor) -> None:
        super().mark_sent(batch_id, signed)
        if self.at == "after_mark_sent":
            raise Crash  # stored, never broadcast

    def mark_confirmed(self, batch_id: int, receipt: AnchorReceipt) -> None:
        if self.at == "before_confirm":
            raise Crash  # mined, not recorded
        super().mark_confirmed(batch_id, receipt)


@pytest.fixture
def submitted(ledger: LedgerServer) -> list[str]:
    """Two terminals' readings, stored; returns their digests."""
    client = ledger.ledger_client()
    domain = client.domain()
    digests = []
    for source, seqs in zip(SOURCES, (range(1, 41), range(7, 30)), strict=True):
        terminal = Terminal.create()
        if source == SOURCES[0]:
            register(ledger.server, ENTERPRISE, SOURCES, terminal, industry="aluminium")
        else:
            ledger.post(
                "/v1/devices",
                json={"address": terminal.address, "enterprise": ENTERPRISE, "sources": [source]},
            )
        result = client.submit(signed_readings(terminal, domain, ENTERPRISE, source, seqs))
        digests += [r["digest"] for r in result["records"]]
    return digests


def worker(ledger: LedgerServer, max_batch: int = 1000) -> AnchorWorker:
    settings = ledger.settings().model_copy(update={"anchor_max_batch": max_batch})
    return build_worker(settings)


def counts(ledger: LedgerServer) -> dict[str, int]:
    [row] = ledger.sql(
        "select (select count(*) from leaf) as leaves,"
        " (select count(*) from activity_record) as records,"
        " (select count(*) from leaf where batch_id is null) as unbatched,"
        " (select count(*) from anchor_batch) as batches,"
        " (select count(*) from anchor_batch where status = 'confirmed') as confirmed"
    )
    return dict(row._mapping)


def onchain_batches(ledger: LedgerServer, w: AnchorWorker) -> int:
    return AnchorContract(w.contract.w3, ledger.deployment.address).batch_count()


def test_one_round_anchors_everything_and_proofs_check_out(
    ledger: LedgerServer, submitted: list[str]
) -> None:
    w = worker(ledger)
    result = w.run_once()
    assert (result.batches, result.leaves) == (1, LEAVES)
    assert counts(ledger) == {
        "leaves": LEAVES,
        "records": RECORDS,
        "unbatched": 0,
        "batches": 1,
        "confirmed": 1,
    }
    for digest in (submitted[0], submitted[-1]):
        body = ledger.get(f"/v1/records/{digest}/proof").json()
        bundle = RecordProofBundle.model_validate(body)
        leaf = bytes.fromhex(bundle.leaf.hash[2:])
        proof = [bytes.fromhex(p[2:]) for p in bundle.proof]
        assert "0x" + process_proof(leaf, proof).hex() == bundle.batch.root
        assert w.contract.contract.functions.verify(
            bytes.fromhex(bundle.batch.root[2:]), leaf, proof
        ).call()
        # The bundle carries the enterprise's section; its path folds to the anchored hash.
        section = bundle.batch.section
        assert section is not None and bundle.batch.manifest is None
        leaf = section_leaf(section.model_dump(mode="json", by_alias=True))
        path = [bytes.fromhex(p[2:]) for p in bundle.batch.section_proof or ()]
        assert "0x" + process_proof(leaf, path).hex() == bundle.batch.manifest_hash
    # The enterprise's section counts per device: 40 readings 1..40 and 23 readings 7..29.
    ranges = sorted((d.first_seq, d.last_seq, d.count) for d in section.devices)
    assert ranges == [(1, 40, 40), (7, 29, 23)]
    assert (section.enterprise, section.leaf_count, section.kinds) == (
        ENTERPRISE,
        RECORDS,
        {"1": RECORDS},
    )
    # The whole manifest, as an admin reads it: the registry events in the section of no
    # enterprise, which counts kinds only.
    whole = SectionedManifest.model_validate(ledger.get("/v1/batches/1").json()["manifest"])
    assert [(s.enterprise, s.kinds, s.devices) for s in whole.sections] == [
        (None, {"3": EVENTS}, ()),
        (ENTERPRISE, {"1": RECORDS}, section.devices),
    ]
    assert section_tree(whole).root.hex() == bundle.batch.manifest_hash[2:]


def test_nothing_to_anchor_is_a_quiet_round(ledger: LedgerServer) -> None:
    result = worker(ledger).run_once()
    assert (result.batches, result.leaves) == (0, 0)


def test_batches_are_capped_and_no_leaf_sits_in_two(
    ledger: LedgerServer, submitted: list[str]
) -> None:
    w = worker(ledger, max_batch=25)
    result = w.run_once()
    assert (result.batches, result.leaves) == (3, LEAVES)  # 25 + 25 + 18
    assert counts(ledger) == {
        "leaves": LEAVES,
        "records": RECORDS,
        "unbatched": 0,
        "batches": 3,
        "confirmed": 3,
    }
    assert onchain_batches(ledger, w) == 3


def test_proof_before_anchoring_is_409(ledger: LedgerServer, submitted: list[str]) -> None:
    response = ledger.get(f"/v1/records/{submitted[0]}/proof")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "not_anchored")
    missing = ledger.get(f"/v1/records/0x{'00' * 32}/proof")
    assert missing.status_code == 404


@pytest.mark.parametrize("at", ["after_create", "after_mark_sent", "before_confirm"])
def test_a_crash_at_any_step_is_reconciled_without_double_anchoring(
    ledger: LedgerServer, submitted: list[str], at: str
) -> None:
    first = worker(ledger)
    first.store = CrashingStore(first.store, at)  # type: ignore[arg-type]
    with pytest.raises(Crash):
        first.run_once()
    restarted = worker(ledger)
    result = restarted.run_once()
    assert result.leaves == LEAVES
    assert counts(ledger) == {
        "leaves": LEAVES,
        "records": RECORDS,
        "unbatched": 0,
        "batches": 1,
        "confirmed": 1,
    }
    assert onchain_batches(ledger, restarted) == 1
    body = ledger.get(f"/v1/records/{submitted[5]}/proof")
    assert body.status_code == 200


def test_a_stored_tx_whose_nonce_was_spent_is_signed_again(
    ledger: LedgerServer, submitted: list[str]
) -> None:
    first = worker(ledger)
    first.store = CrashingStore(first.store, "after_mark_sent")  # type: ignore[arg-type]
    with pytest.raises(Crash):
        first.run_once()
    # Meanwhile the operator account sends something else with that nonce.
    w3, account = first.contract.w3, first.account
    tx = {
        "to": account.address,
        "value": 0,
        "gas": 21_000,
        "chainId": 1337,
        "nonce": w3.eth.get_transaction_count(account.address),
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
    }
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    )
    result = worker(ledger).run_once()
    assert result.leaves == LEAVES and counts(ledger)["confirmed"] == 1


def test_tree_endpoint_is_a_standard_v1_dump_that_openzeppelin_loads(
    ledger: LedgerServer, submitted: list[str]
) -> None:
    worker(ledger).run_once()
    dump = ledger.get("/v1/batches/1/tree").json()
    tree = StandardMerkleTree.load(dump)
    batch = ledger.get("/v1/batches/1").json()
    assert "0x" + tree.root.hex() == batch["root"] and batch["status"] == "confirmed"
    assert len(dump["values"]) == LEAVES
    proof = ["0x" + p.hex() for p in tree.get_proof(0)]
    multi = tree.get_multiproof([0, 5, 9]).to_json(dump["leafEncoding"])
    case = {"op": "check", "dump": dump, "proofIndex": 0, "proof": proof, "multiproof": multi}
    done = subprocess.run(
        ["node", str(REPO / "tests/verifier/js/oz_tree.js")],
        input=json.dumps([case]),
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        timeout=120,
    )
    (answer,) = json.loads(done.stdout)
    assert answer == {"root": batch["root"], "proofOk": True, "multiOk": True}


def test_database_url_setting_is_honoured(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.sqlite'}")
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"
