"""The durable outbox: signed records wait here until the ledger has them.

One SQLite file in WAL mode with ``synchronous=FULL``: a transaction that returned is on disk.
A batch of samples is turned into readings, numbered, signed and written in ONE transaction
together with each point's new state and each terminal's next sequence number, so a crash
(kill -9, power) keeps all of it or none of it: a sequence number is never used twice nor
skipped, and a reading is never signed twice. Rows leave only when the ledger acknowledged them.

Each point signs with its own terminal key (the ledger checks a register's continuity and a
period's sequence per terminal), so numbering is per terminal address.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from terminal.client import SignedRecord
from terminal.gateway.config import Point
from terminal.gateway.meters import PointState, Reading
from terminal.gateway.signer import Signer
from verifier.protocol.typed_data import ActivityRecord, Domain, attributes_hash

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS terminals (address TEXT PRIMARY KEY, next_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    name TEXT PRIMARY KEY, epoch INTEGER, register TEXT, end_s INTEGER, opening INTEGER NOT NULL,
    seen TEXT
);
CREATE TABLE IF NOT EXISTS point_keys (name TEXT PRIMARY KEY, address TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY, address TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
    UNIQUE (address, seq)
);
"""


class OutboxFull(RuntimeError):
    """The disk budget is spent: the gateway stops reading until the ledger takes some."""


@dataclass(frozen=True)
class Pending:
    last_id: int
    bodies: list[str]


def _int(text: str | None) -> int | None:
    # Registers are uint256-sized: SQLite's integers are 64-bit, so they are stored as text.
    return None if text is None else int(text)


def _text(number: int | None) -> str | None:
    return None if number is None else str(number)


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    return connection


class Outbox:
    """The outbox file; shared by the recorder and the forwarder threads."""

    def __init__(
        self,
        path: Path,
        signers: Mapping[str, Signer],
        enterprise: str,
        max_records: int,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = _connect(path)
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()
        self.signers = dict(signers)  # point name -> its terminal's signer
        self.enterprise = enterprise
        self.max_records = max_records
        self.domain: Domain | None = self._stored_domain()
        self._rekey()
        self._depth = self._db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    # --- state ---------------------------------------------------------------------------

    def _rekey(self) -> None:
        """A point whose key changed (a rotated terminal) restarts its register chain with a
        stated opening: the ledger checks continuity per terminal, and the new one has no
        previous reading."""
        stored = dict(self._db.execute("SELECT name, address FROM point_keys").fetchall())
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for name, signer in self.signers.items():
                if stored.get(name) not in (None, signer.address):
                    self._db.execute("UPDATE points SET opening = 1 WHERE name = ?", (name,))
                self._db.execute(
                    "INSERT OR REPLACE INTO point_keys VALUES (?, ?)", (name, signer.address)
                )
            self._db.execute("COMMIT")

    def states(self) -> dict[str, PointState]:
        rows = self._db.execute("SELECT name, epoch, register, end_s, opening, seen FROM points")
        return {
            name: PointState(epoch, _int(reg), end, bool(opening), _int(seen))
            for name, epoch, reg, end, opening, seen in rows
        }

    def _next_seqs(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT address, next_seq FROM terminals").fetchall())

    @property
    def numbered(self) -> bool:
        """Whether every terminal has a sequence of its own yet (else the ledger gives it)."""
        known = self._next_seqs()
        return all(s.address in known for s in self.signers.values())

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def full(self) -> bool:
        return self._depth >= self.max_records

    def set_domain(self, domain: Domain) -> None:
        """Remember the ledger's signing domain, so a restart signs while the ledger is down."""
        value = json.dumps([domain.chain_id, domain.verifying_contract])
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('domain', ?)", (value,))
        self.domain = domain

    def _stored_domain(self) -> Domain | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'domain'").fetchone()
        return Domain(*json.loads(row[0])) if row else None

    # --- writing -------------------------------------------------------------------------

    def record(
        self, points: Mapping[str, Point], states: Mapping[str, PointState], readings: list[Reading]
    ) -> int:
        """Sign ``readings`` with their terminals' next sequence numbers and store them with
        the points' new ``states``, all in one transaction; the number of records stored."""
        if self.domain is None:
            raise RuntimeError("the ledger's signing domain is not known yet")
        if readings and self._depth + len(readings) > self.max_records:
            raise OutboxFull(f"outbox holds {self._depth} of {self.max_records} records")
        with self._lock:
            seqs = self._next_seqs()
            rows = []
            for reading in readings:
                address = self.signers[reading.point].address
                seq = seqs[address]
                rows.append((address, seq, self._sign(points[reading.point], reading, seq)))
                seqs[address] = seq + 1
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO outbox (address, seq, body) VALUES (?, ?, ?)", rows
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (n, s.epoch, _text(s.register), s.end, int(s.opening), _text(s.seen))
                        for n, s in states.items()
                    ],
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO terminals VALUES (?, ?)", list(seqs.items())
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._depth += len(rows)
        return len(rows)

    def _sign(self, point: Point, reading: Reading, seq: int) -> str:
        assert self.domain is not None
        signer = self.signers[point.name]
        record = ActivityRecord(
            enterprise=self.enterprise,
            source=point.source,
            device=signer.address,
            seq=seq,
            activity=point.activity,
            quantity=reading.quantity,
            decimals=point.decimals,
            unit=point.unit,
            period_start=reading.start,
            period_end=reading.end,
            attributes_hash=attributes_hash(reading.attributes),
        )
        # The record already carries the attributes' hash: signing without them skips hashing
        # them a second time for a check that cannot fail here.
        signature = signer.sign(self.domain, record).signature
        signed = SignedRecord(record, signature, reading.attributes)
        return json.dumps(signed.to_json(), separators=(",", ":"))

    # --- draining ------------------------------------------------------------------------

    def pending(self, limit: int) -> Pending | None:
        """The oldest ``limit`` records, in the order they were signed."""
        rows = self._db.execute(
            "SELECT id, body FROM outbox ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        if not rows:
            return None
        return Pending(rows[-1][0], [body for _, body in rows])

    def acknowledge(self, last_id: int) -> int:
        """Drop every record up to ``last_id``: the ledger holds them."""
        with self._lock:
            deleted = self._db.execute("DELETE FROM outbox WHERE id <= ?", (last_id,)).rowcount
            self._depth -= deleted
        return deleted

    def resume(self, address: str, ledger_last_seq: int | None) -> tuple[int, int]:
        """Align a terminal with the ledger's last accepted sequence number for it: records it
        already holds leave the outbox, and numbering continues above it. (dropped, next)"""
        last = ledger_last_seq or 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            dropped = self._db.execute(
                "DELETE FROM outbox WHERE address = ? AND seq <= ?", (address, last)
            ).rowcount
            known = self._next_seqs().get(address, 1)
            next_seq = max(known, last + 1)
            self._db.execute("INSERT OR REPLACE INTO terminals VALUES (?, ?)", (address, next_seq))
            self._db.execute("COMMIT")
            self._depth -= dropped
            return dropped, next_seq

    def close(self) -> None:
        self._db.close()
