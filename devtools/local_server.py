"""A ledger API server in a child process on a free loopback port (demo, tests, benchmarks)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from ledger_api.access.principals import key_for, revoke
from ledger_api.core.config import Settings
from terminal.client import LedgerClient

ADMIN = "local-admin"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ServerProcess:
    """A running server and an admin key for it (issued once the database was migrated)."""

    process: subprocess.Popen[bytes]
    base_url: str
    env: dict[str, str]
    log_file: Path
    token: str = ""
    key_id: str = ""
    database_url: str = ""

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client of this server, with ``token`` (default: the admin key)."""
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=self.base_url, headers=headers, **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        with self.client(token, timeout=kwargs.pop("timeout", 60)) as http:
            return http.get(path, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        with self.client(token, timeout=kwargs.pop("timeout", 60)) as http:
            return http.post(path, **kwargs)

    def ledger_client(self, token: str | None = None, **kwargs: Any) -> LedgerClient:
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


def start_server(data_dir: Path, env: dict[str, str], timeout_s: float = 60) -> ServerProcess:
    """Start ``carbon-ledger serve`` with ``env`` over the environment; wait until it answers."""
    port = free_port()
    full_env = {**os.environ, "CARBON_DATA_DIR": str(data_dir), **env}
    log_file = data_dir / "server.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "carbon-ledger"), "serve", "--port", str(port)],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", full_env, log_file)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ledger server exited: {log_file.read_text()[-2000:]}")
        try:
            if httpx.get(server.base_url + "/v1/typed-data", timeout=1).status_code == 200:
                return _with_admin_key(server, data_dir)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"ledger server did not answer within {timeout_s:.0f} s")


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
