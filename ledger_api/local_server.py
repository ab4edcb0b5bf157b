"""A ledger API server in a child process on a free loopback port (demo, tests, benchmarks)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ServerProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    env: dict[str, str]
    log_file: Path

    def stop(self) -> None:
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
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"ledger server did not answer within {timeout_s:.0f} s")


@contextlib.contextmanager
def running_server(data_dir: Path, env: dict[str, str]) -> Iterator[ServerProcess]:
    server = start_server(data_dir, env)
    try:
        yield server
    finally:
        server.stop()
