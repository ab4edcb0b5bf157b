"""The dev chain this process starts stops when ganache exits, not at the stop's deadline."""

from __future__ import annotations

import os
import time
from pathlib import Path

from anchoring.devchain import DevChain
from devtools.local_server import free_port

DEADLINE_S = 120.0


def test_a_chain_started_here_stops_when_ganache_exits(tmp_path: Path) -> None:
    chain = DevChain(data_dir=tmp_path, port=free_port())
    pid = chain.up()
    start = time.monotonic()
    assert chain.down(timeout_s=DEADLINE_S)
    # Exited and reaped: a zombie of ours would still answer kill(pid, 0) and hold down() to
    # its deadline (then SIGKILL it). Half the deadline tells the two apart on any box.
    assert time.monotonic() - start < DEADLINE_S / 2
    assert not chain.pid_file.exists() and chain.pid() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError(f"ganache {pid} is still there after down()")
