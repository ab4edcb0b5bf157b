"""Servers forked from the preloaded parent (devtools/server_launch.py) against fresh ones.

A forked server must be what `carbon-ledger serve` is as a fresh process: its own environment
(given, not merged with the fork server's), its own log, the same exits on SIGTERM and SIGKILL.
The preload itself must leave nothing a child could inherit by mistake.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools import server_launch
from devtools.local_server import ServerProcess, start_server
from ledger_api.core.migrate import alembic_config, upgrade
from tests.conftest import server_env
from tests.postgres import suite_on_postgres
from tests.processes.fault_helpers import children

ROOT = Path(__file__).resolve().parents[2]

#: Imports the preload in a fresh interpreter while recording what could leak into a child.
AUDIT = """
import json, os, threading
read, started = set(), []
getitem, contains = os._Environ.__getitem__, os._Environ.__contains__
os._Environ.__getitem__ = lambda self, key: read.add(key) or getitem(self, key)
os._Environ.__contains__ = lambda self, key: read.add(key) or contains(self, key)
start = threading.Thread.start
threading.Thread.start = lambda self: started.append(self.name) or start(self)
fds = set(os.listdir("/proc/self/fd"))
import devtools.server_preload
from ledger_api.core.config import get_settings
from ledger_api.core.db import engine_for
print(json.dumps({
    "carbon": sorted(k for k in read if k.startswith("CARBON")),
    "threads": started,
    "settings": get_settings.cache_info().currsize,
    "engines": engine_for.cache_info().currsize,
    "fds": sorted(set(os.listdir("/proc/self/fd")) - fds),
}))
"""

#: Starts the fork server with CARBON_MAX_REQUEST_BYTES=1000 set, then forks two servers: the
#: first is given that variable, the second is not and must not find it (a 2,000-byte body is
#: refused 413 only above the limit).
TWO_ENVIRONMENTS = """
import json, os, sys
from pathlib import Path
import httpx
from devtools.local_server import start_server

def served(data_dir):
    env = {"CARBON_RPC_URL": sys.argv[3], "CARBON_CONFIG": str(data_dir / "none.toml")}
    server = start_server(data_dir, env, forked=True)
    try:
        answer = httpx.post(server.base_url + "/v1/activity-batches", content=b"x" * 2000)
        stat = Path(f"/proc/{server.process.pid}/stat").read_text()
        return {"status": answer.status_code, "parent": int(stat.rsplit(")", 1)[1].split()[1])}
    finally:
        server.stop()

os.environ["CARBON_MAX_REQUEST_BYTES"] = "1000"
limited = served(Path(sys.argv[1]))
del os.environ["CARBON_MAX_REQUEST_BYTES"]
print(json.dumps({"me": os.getpid(), "servers": [limited, served(Path(sys.argv[2]))]}))
"""


def _python(code: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_preload_reads_no_ledger_setting_and_leaves_nothing_running_or_open() -> None:
    found = _python(AUDIT)
    assert found == {"carbon": [], "threads": [], "settings": 0, "engines": 0, "fds": []}


def test_a_forked_server_takes_the_environment_it_is_given_not_the_fork_servers(
    dev_chain: DevChain, w3: Web3, operator_account: LocalAccount, tmp_path: Path
) -> None:
    for name in ("first", "second"):
        deploy(w3, operator_account, tmp_path / name / "deployments")
    dirs = [str(tmp_path / "first"), str(tmp_path / "second")]
    found = _python(TWO_ENVIRONMENTS, *dirs, dev_chain.rpc_url)
    limited, unlimited = found["servers"]
    assert (limited["status"], unlimited["status"] != 413) == (413, True)
    # Both children of one fork server, neither of the process that asked for them.
    assert limited["parent"] == unlimited["parent"] != found["me"]


def _start(
    data_dir: Path, rpc_url: str, w3: Web3, account: LocalAccount, forked: bool
) -> ServerProcess:
    deploy(w3, account, data_dir / "deployments")
    server = start_server(data_dir, server_env(data_dir, rpc_url), forked=forked)
    assert isinstance(server.process, server_launch.ForkedProcess) is forked
    assert server.get("/v1/me").status_code == 200
    return server


def _log(server: ServerProcess) -> list[dict]:
    lines = server.log_file.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line[:1] == "{"]


def _events(server: ServerProcess) -> list[str]:
    """The server's log events but the migration's (a seeded database has none to run),
    numbers (its pid and port) left out."""
    entries = [e for e in _log(server) if not e["logger"].startswith("alembic")]
    return [re.sub(r"\d+", "N", entry["event"]) for entry in entries]


def test_a_forked_server_logs_stops_and_dies_as_a_fresh_one_does(
    dev_chain: DevChain, w3: Web3, operator_account: LocalAccount, tmp_path: Path
) -> None:
    fresh = _start(tmp_path / "fresh", dev_chain.rpc_url, w3, operator_account, forked=False)
    forked = _start(tmp_path / "forked", dev_chain.rpc_url, w3, operator_account, forked=True)
    assert forked.process.pid not in children(os.getpid())  # the fork server's child
    servers = (fresh, forked)
    for server in servers:
        server.stop()
    assert fresh.process.returncode == forked.process.returncode == -signal.SIGTERM
    assert _events(forked) == _events(fresh)
    if not suite_on_postgres():
        # The launcher seeds a new SQLite database only; on PostgreSQL the suite gives each
        # ledger a migrated copy of its own, so neither server has anything to migrate.
        upgrades = [
            [e for e in _log(s) if e["event"].startswith("Running upgrade")] for s in servers
        ]
        assert (len(upgrades[0]) > 0, upgrades[1]) == (True, [])  # the seeded one had none
    killed = _start(tmp_path / "killed", dev_chain.rpc_url, w3, operator_account, forked=True)
    os.kill(killed.process.pid, signal.SIGKILL)
    assert killed.process.wait(timeout=30) == -signal.SIGKILL
    killed.stop()  # its key is revoked; stopping a dead server is no error


def test_an_environment_a_fork_cannot_honour_gets_a_fresh_process() -> None:
    assert server_launch.can_fork(dict(os.environ))
    other_seed = str(int(os.environ.get("PYTHONHASHSEED", "0") or 0) + 1)
    assert not server_launch.can_fork({**os.environ, "PYTHONHASHSEED": other_seed})
    assert not server_launch.can_fork({**os.environ, "TZ": "Asia/Shanghai-not-ours"})


def test_the_seeded_database_is_the_one_serve_would_migrate(tmp_path: Path) -> None:
    """What every forked server on a new SQLite database starts from: a copy of a template
    migrated once per process. Its schema (tables, columns, keys, indexes) and rows are a
    fresh migration's, and it stands at the migrations' head."""
    fresh = tmp_path / "ledger.sqlite"
    upgrade(f"sqlite:///{fresh}")
    template = server_launch.migrated_template()
    assert _contents(template) == _contents(fresh)
    head = ScriptDirectory.from_config(alembic_config(f"sqlite:///{fresh}")).get_current_head()
    with sqlite3.connect(template) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _contents(path: Path) -> dict[str, object]:
    """Schema and rows, in an order of their own: SQLite's batch migrations write a table's
    constraints in an order that varies from one migration to the next."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            table: (
                db.execute(f"PRAGMA table_xinfo('{table}')").fetchall(),
                sorted(db.execute(f"PRAGMA foreign_key_list('{table}')").fetchall()),
                sorted(_indexes(db, table)),
                sorted(db.execute(f"SELECT * FROM '{table}'").fetchall()),
            )
            for table in sorted(tables)
        }


def _indexes(db: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    found = []
    for _, name, unique, origin, partial in db.execute(f"PRAGMA index_list('{table}')"):
        columns = [r[2] for r in db.execute(f"PRAGMA index_info('{name}')")]
        # SQLite numbers a table's automatic indexes in constraint order: named by columns.
        shown = name if origin == "c" else origin
        found.append((shown, unique, partial, columns))
    return found
