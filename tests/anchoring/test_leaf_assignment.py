"""Assigning leaves to a batch by id ranges: a leaf is never put in two batches, and a batch
that would take a leaf another one holds is not stored at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from anchoring.batching import PendingLeaf, build_batch
from ledger_api.core.db import make_engine
from ledger_api.core.migrate import upgrade
from ledger_api.core.models import LeafRow
from ledger_api.ledger.anchor_store import MIN_RUN, LeafRaceError, SqlBatchStore, id_runs
from verifier.protocol.keccak import keccak256

LEAVES = 100


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        session.execute(
            insert(LeafRow),
            [
                {"id": i, "kind": 1, "digest": "0x", "aux": "0x", "hash": "0x" + leaf(i).hex()}
                for i in range(1, LEAVES + 1)
            ],
        )
    return engine


def leaf(i: int) -> bytes:
    return keccak256(i.to_bytes(32, "big"))


def batch(ids: list[int]):  # type: ignore[no-untyped-def]
    return build_batch([PendingLeaf(id=i, kind=1, hash=leaf(i)) for i in ids])


def assigned(engine: Engine) -> dict[int | None, int]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT batch_id, count(*) FROM leaf GROUP BY batch_id"))
        return dict(rows.all())  # type: ignore[arg-type]


def test_runs_and_scattered_ids_cover_exactly_the_ids_given() -> None:
    ids = [*range(1, 1 + MIN_RUN), 40, 42, *range(50, 50 + MIN_RUN - 1)]
    runs, scattered = id_runs(reversed(ids))  # type: ignore[arg-type]
    assert runs == [(1, MIN_RUN)]
    assert scattered == [40, 42, *range(50, 50 + MIN_RUN - 1)]


@pytest.mark.parametrize(
    "second",
    [
        list(range(41, LEAVES + 1)),  # a range that overlaps the first batch's range
        [3, 61, 63, 65],  # scattered ids, one of them taken
        [*range(61, 81), 70],  # an id given twice: the range would stand for one too many
    ],
)
def test_a_batch_that_takes_a_batched_leaf_is_not_stored(engine: Engine, second: list[int]) -> None:
    store = SqlBatchStore(engine, 1337, "0x" + "22" * 20)
    first_id = store.create_batch(batch(list(range(1, 61))))
    with pytest.raises(LeafRaceError):
        store.create_batch(batch(second))
    assert assigned(engine) == {first_id: 60, None: LEAVES - 60}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM anchor_batch")).scalar_one() == 1
        assert connection.execute(text("SELECT count(*) FROM batch_tree")).scalar_one() == 1
