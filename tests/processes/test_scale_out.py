"""Scale-out on PostgreSQL: monthly partitions of activity records, and several anchoring
workers against one database and one chain, one of them killed with SIGKILL mid-round.

One database, one deployment and one API server for the module; the tests run in order and
build on each other's state (records stored, partitions moved, then anchored).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from web3 import Web3

from anchoring.anchor_contract import AnchorContract
from anchoring.batching import PendingLeaf, build_batch
from anchoring.deployment import DeploymentRecord, deploy
from anchoring.devchain import DevChain
from anchoring.worker import LeaseLost
from devtools.local_server import ServerProcess, start_server
from devtools.seeding import HOUR, PERIOD_START, register, resign, signed_readings
from ledger_api.core.db import make_engine
from ledger_api.core.migrate import alembic_config, upgrade
from ledger_api.ledger import partitions
from ledger_api.ledger.anchor_store import SqlBatchStore
from ledger_api.ledger.lease import SqlLease
from terminal.client import Terminal
from tests.conftest import server_env
from tests.processes.fault_helpers import RpcGate, kill9, start_anchor, wait_for

ENTERPRISE = "88.118.8/ENT-SCALE-01"
SOURCE = "88.118.8/SRC-SCALE-01-GRID"
FIRST = range(1, 1201)  # hourly readings 1..1200: 2026-01-01 to 2026-02-20
LATER = range(1500, 1541)  # early March 2026: a month no partition exists for yet
BATCH = 400  # leaves per tree: the dead worker's batch and three more
LEASE_S = 20  # long enough for the stand-by to start (seconds on a busy box) while the lease runs


@dataclass
class Scene:
    url: str
    engine: Engine
    server: ServerProcess
    terminal: Terminal
    data_dir: Path
    deployment: DeploymentRecord
    rpc_url: str


@pytest.fixture(scope="module")
def scene(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    postgres_base_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scene]:
    from tests.postgres import create_database

    data_dir = tmp_path_factory.mktemp("scale_out")
    url = create_database(postgres_base_url, "scale_out")
    record, _ = deploy(w3, operator_account, data_dir / "deployments")
    server = start_server(
        data_dir, {**server_env(data_dir, dev_chain.rpc_url), "CARBON_DATABASE_URL": url}
    )
    terminal = Terminal.create()
    register(server, ENTERPRISE, [SOURCE], terminal)
    client = server.ledger_client()
    client.submit(signed_readings(terminal, client.domain(), ENTERPRISE, SOURCE, FIRST))
    engine = make_engine(url)
    yield Scene(url, engine, server, terminal, data_dir, record, dev_chain.rpc_url)
    engine.dispose()
    server.stop()


def where_records_are(engine: Engine) -> dict[str, int]:
    """Records per partition, as PostgreSQL itself places them."""
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT tableoid::regclass::text, count(*) FROM activity_record GROUP BY 1")
        )
        return dict(rows.all())  # type: ignore[arg-type]


def month_count(seqs: range, year: int, month: int) -> int:
    """How many of the seeding's hourly readings ``seqs`` start in that UTC month."""
    low = int(partitions.datetime(year, month, 1, tzinfo=partitions.UTC).timestamp())
    high = int(partitions.next_month(partitions.month_start(low)).timestamp())
    return sum(low <= PERIOD_START + s * HOUR < high for s in seqs)


def test_migration_moves_stored_records_into_their_months_partitions(scene: Scene) -> None:
    # Back to one table, then forward again: the upgrade finds the records stored and moves them.
    from alembic import command

    with scene.engine.connect() as connection:
        ids = set(connection.execute(text("SELECT id FROM activity_record")).scalars())
    command.downgrade(alembic_config(scene.url), "0019-1")
    with scene.engine.connect() as connection:
        assert not partitions.is_partitioned(connection)
    upgrade(scene.url)
    with scene.engine.connect() as connection:
        assert partitions.is_partitioned(connection)
        assert set(connection.execute(text("SELECT id FROM activity_record")).scalars()) == ids
        keys = connection.execute(text("SELECT count(*) FROM activity_record_key")).scalar()
    assert keys == len(FIRST)
    assert where_records_are(scene.engine) == {
        "activity_record_y2026m01": month_count(FIRST, 2026, 1),
        "activity_record_y2026m02": month_count(FIRST, 2026, 2),
    }


def test_a_month_without_a_partition_lands_in_the_default_one(scene: Scene) -> None:
    client = scene.server.ledger_client()
    readings = signed_readings(scene.terminal, client.domain(), ENTERPRISE, SOURCE, LATER)
    client.submit(readings)
    assert where_records_are(scene.engine)[partitions.DEFAULT] == len(LATER)


def test_a_seq_reused_in_another_month_is_refused_by_the_api_and_the_database(
    scene: Scene,
) -> None:
    client = scene.server.ledger_client()
    domain = client.domain()
    first = signed_readings(scene.terminal, domain, ENTERPRISE, SOURCE, range(5, 6))[0]
    # The terminal signs seq 5 again for a period in March: another month, another partition.
    march = PERIOD_START + 1520 * HOUR
    again = resign(scene.terminal, domain, first, period_start=march, period_end=march + HOUR)
    answer = scene.server.post("/v1/activity-batches", json={"records": [again.to_json()]})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_batch"
    [problem] = error["problems"]
    assert (problem["code"], problem["field"]) == ("seq_conflict", "record.seq")
    # The operator's own SQL, past the API: the keys table refuses it in any month.
    copy = (
        "INSERT INTO leaf (kind, digest, aux, hash, created_at) "
        "SELECT kind, :digest, aux, :hash, created_at FROM leaf WHERE hash = :old; "
        "INSERT INTO activity_record (digest, leaf_hash, device_id, source_id, enterprise_id, "
        "seq, activity, quantity, decimals, unit, period_start, period_end, attributes_hash, "
        "attributes, signature, received_at) SELECT :digest, :hash, device_id, source_id, "
        "enterprise_id, seq, activity, quantity, decimals, unit, :start, :start + 3600, "
        "attributes_hash, attributes, signature, received_at FROM activity_record "
        "WHERE leaf_hash = :old"
    )
    with scene.engine.connect() as connection:
        old_digest, old_hash = connection.execute(
            text("SELECT digest, leaf_hash FROM activity_record WHERE seq = 5")
        ).one()
    for digest, leaf in (("0x" + "ab" * 32, "0x" + "cd" * 32), (old_digest, "0x" + "ef" * 32)):
        with pytest.raises(IntegrityError) as refused, scene.engine.begin() as connection:
            for statement in copy.split("; "):
                connection.execute(
                    text(statement),
                    {"digest": digest, "hash": leaf, "old": old_hash, "start": march},
                )
        constraint = refused.value.orig.diag.constraint_name  # type: ignore[union-attr]
        assert constraint in {"activity_record_key_device_id_seq_key", "activity_record_key_pkey"}
    assert where_records_are(scene.engine)[partitions.DEFAULT] == len(LATER)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_stalled_worker_past_its_lease_writes_nothing(
    scene: Scene, database: str, tmp_path: Path
) -> None:
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
        upgrade(url)
        engine = make_engine(url)
    else:
        engine = scene.engine
    first, second = (SqlLease(engine, ttl_s=1, holder=f"host-{n}:1:{database}") for n in (1, 2))
    assert first.claim() and not second.claim()
    time.sleep(1.2)  # the first worker stalls past its lease
    assert second.claim()
    store = SqlBatchStore(engine, 1337, "0x" + "22" * 20, first)
    built = build_batch([PendingLeaf(id=1, kind=1, hash=bytes(range(32)))])
    with pytest.raises(LeaseLost):
        store.create_batch(built)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM anchor_batch")).scalar_one() == 0
    assert not first.claim()
    second.release()
    assert first.claim()
    first.release()


def test_a_standby_skips_a_lease_row_the_holder_has_locked(scene: Scene) -> None:
    holder, standby = (SqlLease(scene.engine, ttl_s=60, holder=f"host-{n}:1:x") for n in (1, 2))
    assert holder.claim()
    answers: list[bool] = []
    with Session(scene.engine) as session, session.begin():
        holder.fence(session)  # the holder's open transaction locks the lease row
        asking = threading.Thread(target=lambda: answers.append(standby.claim()))
        asking.start()
        asking.join(timeout=10)
        assert answers == [False], "a stand-by queued behind the holder's lock"
    holder.release()


def test_two_workers_anchor_every_leaf_once_when_the_holder_is_killed_mid_round(
    scene: Scene, w3: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARBON_DATABASE_URL", scene.url)  # the workers inherit these
    monkeypatch.setenv("CARBON_ANCHOR_LEASE_S", str(LEASE_S))
    # The first worker reaches the chain through a gate that never forwards a transaction:
    # it takes the lease, stores a batch and its signed tx, and hangs broadcasting it.
    gate = RpcGate(scene.rpc_url, hold={"eth_sendRawTransaction"})
    args = ("--watch", "--interval", "0.2", "--max-batch", str(BATCH))
    first = start_anchor(scene.data_dir, gate.url, *args, log_name="first.log")
    second = None
    try:
        wait_for(lambda: lease_holder_pid(scene.engine) == first.pid, "the first worker's lease")
        second = start_anchor(scene.data_dir, scene.rpc_url, *args, log_name="second.log")
        assert gate.held.wait(timeout=90), (scene.data_dir / "first.log").read_text()[-3000:]
        # Stored before the broadcast that hangs, so it is there now.
        (status, leaves, stored_tx) = batches(scene.engine)[0]
        assert (status, leaves) == ("sent", BATCH) and stored_tx
        second_log = scene.data_dir / "second.log"
        wait_for(lambda: "standing by" in second_log.read_text(), "the second worker to stand by")
        kill9(first)  # mid-round: its batch's tx is stored and was never broadcast
        wait_for(lambda: unanchored(scene.engine) == 0 and all_confirmed(scene.engine), "anchoring")
        assert lease_holder_pid(scene.engine) == second.pid
        # The survivor sent the dead worker's own signed tx rather than anchoring anew.
        assert batches(scene.engine)[0] == ("confirmed", BATCH, stored_tx)
    finally:
        kill9(first)
        if second is not None:
            kill9(second)
        gate.close()
    assert_anchored_once(scene.engine, AnchorContract(w3, scene.deployment.address))
    # The holder's maintenance moved March out of the default partition before it hung.
    placed = where_records_are(scene.engine)
    assert placed.get(partitions.DEFAULT, 0) == 0
    assert placed["activity_record_y2026m03"] == len(LATER)


def lease_holder_pid(engine: Engine) -> int | None:
    """The process id of the lease's holder; None before any worker claimed it."""
    with engine.connect() as connection:
        holder = connection.execute(text("SELECT holder FROM anchor_lease")).scalar_one()
    return None if holder is None else int(holder.split(":")[1])


def batches(engine: Engine) -> list[tuple[str, int, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT status, leaf_count, tx_hash FROM anchor_batch ORDER BY id")
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def unanchored(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM leaf WHERE batch_id IS NULL")
        ).scalar_one()


def all_confirmed(engine: Engine) -> bool:
    return {status for status, _, _ in batches(engine)} == {"confirmed"}


def assert_anchored_once(engine: Engine, contract: AnchorContract) -> None:
    """Every leaf in exactly one confirmed batch, and the chain holds each batch's root once
    and nothing else."""
    with engine.connect() as connection:
        records = connection.execute(text("SELECT count(*) FROM activity_record")).scalar_one()
        assert records == len(FIRST) + len(LATER)
        per_batch = dict(
            connection.execute(text("SELECT batch_id, count(*) FROM leaf GROUP BY batch_id")).all()
        )
        stored = connection.execute(
            text("SELECT id, root, leaf_count, chain_batch_id FROM anchor_batch ORDER BY id")
        ).all()
    assert per_batch == {b.id: b.leaf_count for b in stored}
    assert contract.batch_count() == len(stored)
    for b in stored:
        onchain = contract.batch_of(bytes.fromhex(b.root[2:]))
        assert onchain is not None and (onchain.batch_id, onchain.leaf_count) == (
            b.chain_batch_id,
            b.leaf_count,
        )
    events = contract.contract.events.Anchored().get_logs(from_block=0)
    assert sorted("0x" + e["args"]["root"].hex() for e in events) == sorted(b.root for b in stored)


def test_a_host_with_another_deployment_record_refuses_to_serve_the_ledger(
    scene: Scene,
    w3: Web3,
    operator_account: LocalAccount,
    dev_chain: DevChain,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A second host whose record names another contract: its records would be signed for a
    # domain the ledger's proofs and anchors do not use.
    other, _ = deploy(w3, operator_account, tmp_path / "deployments")
    assert other.address != scene.deployment.address
    env = {**server_env(tmp_path, dev_chain.rpc_url), "CARBON_DATABASE_URL": scene.url}
    with pytest.raises(RuntimeError) as refused:
        start_server(tmp_path, env, timeout_s=60)
    assert f"bound to contract {scene.deployment.address}" in str(refused.value)
    # The worker refuses the same way before it anchors anything.
    monkeypatch.setenv("CARBON_DATABASE_URL", scene.url)
    worker = start_anchor(tmp_path, dev_chain.rpc_url, log_name="anchor.log")
    assert worker.wait(timeout=90) != 0
    assert "bound to contract" in (tmp_path / "anchor.log").read_text()


def test_hosts_starting_together_migrate_the_database_once(postgres_base_url: str) -> None:
    from tests.postgres import create_database

    url = create_database(postgres_base_url, "racing_hosts")
    failures: list[BaseException] = []

    def start() -> None:
        try:
            upgrade(url)
        except BaseException as exc:
            failures.append(exc)

    hosts = [threading.Thread(target=start) for _ in range(3)]
    for host in hosts:
        host.start()
    for host in hosts:
        host.join(timeout=120)
    # Unserialised, three concurrent upgrades were still deadlocked after five minutes.
    assert not any(host.is_alive() for host in hosts), "the upgrades deadlocked"
    assert failures == []
    engine = make_engine(url)
    with engine.connect() as connection:
        assert partitions.is_partitioned(connection)
        version = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    engine.dispose()
    assert len(version) == 1
