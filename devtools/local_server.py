"""A ledger API server in a child process on a free loopback port (demo, tests, benchmarks).

A server is a fresh ``carbon-ledger serve`` process, or, once ``prefer_forked_servers`` was
called (the tests do), a child forked from a parent that has already imported the server
(``server_launch.py``): the same command, seconds of CPU cheaper to start.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import httpx

from devtools import server_launch
from ledger_api.access.principals import key_for, revoke
from ledger_api.core.config import Settings
from terminal.client import LedgerClient

ADMIN = "local-admin"

_forked_by_default = False


class ServerHandle(Protocol):
    """What callers use of a server's process: a ``subprocess.Popen`` or a forked child."""

    pid: int

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


def prefer_forked_servers(forked: bool = True) -> None:
    """Make ``start_server`` fork servers by default (it still starts a fresh process for an
    environment a fork cannot honour, and when a caller asks for one)."""
    global _forked_by_default
    _forked_by_default = forked


@functools.cache
def tls() -> ssl.SSLContext:
    """The TLS settings every new ``httpx.Client`` builds by default, built once: loading the
    CA bundle costs ~30 ms of CPU, far more than a request to a local server."""
    return httpx.create_ssl_context()


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ServerProcess:
    """A running server and an admin key for it (issued once the database was migrated)."""

    process: ServerHandle
    base_url: str
    env: dict[str, str]
    log_file: Path
    token: str = ""
    key_id: str = ""
    database_url: str = ""

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client of this server, with ``token`` (default: the admin key)."""
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=self.base_url, headers=headers, **{"verify": tls(), **kwargs})

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        with self.client(token, timeout=kwargs.pop("timeout", 60)) as http:
            return http.get(path, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        with self.client(token, timeout=kwargs.pop("timeout", 60)) as http:
            return http.post(path, **kwargs)

    def ledger_client(self, token: str | None = None, **kwargs: Any) -> LedgerClient:
        kwargs.setdefault("verify", tls())
        return LedgerClient(self.base_url, api_key=token or self.token, **kwargs)

    def stop(self) -> None:
        """Stop the server and revoke its admin key (each start issues a new one)."""
        if self.key_id:
            revoke(self.database_url, self.key_id)
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    data_dir: Path, env: dict[str, str], timeout_s: float = 60, forked: bool | None = None
) -> ServerProcess:
    """Start ``carbon-ledger serve`` with ``env`` over the environment; wait until it answers.

    ``forked``: fork it from the preloaded parent, on a copy of a migrated database if its
    own is new (True), or start a fresh process (False); default: as
    ``prefer_forked_servers`` set.
    """
    port = free_port()
    full_env = {**os.environ, "CARBON_DATA_DIR": str(data_dir), **env}
    log_file = data_dir / "server.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [str(Path(sys.executable).parent / "carbon-ledger"), "serve", "--port", str(port)]
    fork = _forked_by_default if forked is None else forked
    if fork and server_launch.can_fork(full_env):
        # A new database starts as a copy of one migrated once: its migration has nothing to do.
        server_launch.seed_database(full_env)
        process: ServerHandle = server_launch.fork_server(args, full_env, log_file)
    else:
        process = _popen(args, full_env, log_file)
    server = ServerProcess(process, f"http://127.0.0.1:{port}", full_env, log_file)
    if _answers(server, timeout_s):
        return _with_admin_key(server, data_dir)
    server.stop()
    raise RuntimeError(f"ledger server did not answer within {timeout_s:.0f} s")


def _answers(server: ServerProcess, timeout_s: float) -> bool:
    """Whether the server answers within ``timeout_s``; an error if it exits first."""
    deadline = time.monotonic() + timeout_s
    # One client for all tries: a refused connection costs well under a millisecond, a new
    # client tens (its CA bundle).
    with httpx.Client(timeout=1, verify=tls()) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                log = server.log_file.read_text()
                raise RuntimeError(f"ledger server exited: {log[-2000:]}")
            try:
                if http.get(server.base_url + "/v1/typed-data").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    return False


def _popen(args: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    with log_file.open("ab") as log:
        return subprocess.Popen(
            args, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def _with_admin_key(server: ServerProcess, data_dir: Path) -> ServerProcess:
    url = Settings(data_dir=data_dir, database_url=server.env.get("CARBON_DATABASE_URL"))
    database_url = url.effective_database_url
    issued = key_for(database_url, ADMIN, "admin", label="local server")
    return replace(server, token=issued.token, key_id=issued.key_id, database_url=database_url)


@contextlib.contextmanager
def running_server(data_dir: Path, env: dict[str, str]) -> Iterator[ServerProcess]:
    server = start_server(data_dir, env)
    try:
        yield server
    finally:
        server.stop()
