"""The local development chain: a ganache process from ``node_modules``, on loopback.

State (the chain database, a pid file and the log) lives in one data directory, so the chain
survives restarts and ``up`` is idempotent.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from anchoring.artifact import REPO_ROOT

GANACHE_CLI = REPO_ROOT / "node_modules" / "ganache" / "dist" / "node" / "cli.js"
DEV_CHAIN_ID = 1337
# ganache's `--wallet.deterministic` accounts derive from this well-known mnemonic. They hold
# test ether on the local dev chain only; anything else must use an encrypted keystore.
DEV_MNEMONIC = "myth like bonus scare over problem client lizard pioneer submit female collect"


class ChainError(RuntimeError):
    """The dev chain could not be started, stopped or reached."""


@dataclass(frozen=True)
class DevChain:
    """A ganache dev chain with its state under ``data_dir``."""

    data_dir: Path
    port: int = 8545
    host: str = "127.0.0.1"

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "ganache.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "ganache.log"

    def pid(self) -> int | None:
        """The pid of our running ganache, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def up(self, timeout_s: float = 60.0) -> int:
        """Start ganache unless it runs; wait until it answers. Returns its pid."""
        if (pid := self.pid()) is not None and rpc_chain_id(self.rpc_url) is not None:
            return pid
        if not GANACHE_CLI.is_file():
            raise ChainError("ganache is not installed: run `npm ci` in the repository")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "db").mkdir(exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                ["node", str(GANACHE_CLI), *self._args()],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        self._wait_ready(proc, timeout_s)
        return proc.pid

    def _args(self) -> list[str]:
        return [
            f"--server.host={self.host}",
            f"--server.port={self.port}",
            f"--chain.chainId={DEV_CHAIN_ID}",
            "--chain.hardfork=shanghai",
            "--wallet.deterministic=true",
            "--wallet.totalAccounts=4",
            f"--database.dbPath={self.data_dir / 'db'}",
            "--logging.quiet=true",
        ]

    def _wait_ready(self, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ChainError(f"ganache exited with {proc.returncode}; see {self.log_file}")
            if rpc_chain_id(self.rpc_url) is not None:
                return
            time.sleep(0.2)
        self.down()
        raise ChainError(f"ganache did not answer on {self.rpc_url} within {timeout_s:.0f} s")

    def down(self, timeout_s: float = 15.0) -> bool:
        """Stop ganache if it runs; returns whether it was running."""
        pid = self.pid()
        if pid is None:
            return False
        os.killpg(pid, signal.SIGINT)  # ganache shuts down cleanly on SIGINT only
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _exited(pid):
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True


def _exited(pid: int) -> bool:
    """Whether the process is gone. One this process started stays a zombie, answering
    ``kill(pid, 0)``, until it is reaped: reap it here if it is ours."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def rpc_chain_id(rpc_url: str, timeout_s: float = 2.0) -> int | None:
    """The chainId an endpoint reports, or None when nothing answers there."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(
        rpc_url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(json.load(response)["result"], 16)
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return None
