"""``carbon-ledger serve`` forked from a parent that has already imported the server.

A fresh ``carbon-ledger serve`` spends most of its start importing the server and building the
unit registry; a test session starts hundreds. Here multiprocessing's "forkserver" start
method keeps one clean interpreter per calling process that has imported
``devtools.server_preload`` once, and forks it for each start. The child is a real, separate
process: it takes the environment it is given in place of the fork server's, writes its output
to the log file, and runs the command's own entry point with the same arguments. It is a child
of the fork server, not of the caller, so the caller holds a ``ForkedProcess``: the part of
``subprocess.Popen`` that callers of a server use (pid, poll, wait, terminate, kill, signals).

What a child cannot take from its environment is what an interpreter reads when it starts
(``PYTHON*`` variables, the locale, the time zone): ``can_fork`` refuses an environment whose
startup variables differ from the fork server's, and the caller starts a fresh process instead.
As with any multiprocessing child, the caller's main module is imported in the child: a script
that forks servers keeps its work under ``if __name__ == "__main__"``.

A server about to create a new SQLite database gets a copy of one migrated once per process
(``seed_database``): its own migration, which ``serve`` still runs, then has nothing to do.
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Mapping
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path

#: Imported by the fork server before its first fork; this module holds the children's target.
PRELOAD = ["devtools.server_preload", "devtools.server_launch"]

#: Variables an interpreter reads once, at start-up: a fork keeps the fork server's.
STARTUP_VARIABLES = re.compile(r"PYTHON\w*|LANG|LANGUAGE|LC_\w+|TZ")

#: The database a server creates in its data directory when nothing names another.
DEFAULT_DATABASE = "ledger.sqlite"

_running: weakref.WeakSet[BaseProcess] = weakref.WeakSet()


class ForkedProcess:
    """A forked server, as ``subprocess.Popen`` would show it to its caller."""

    def __init__(self, process: BaseProcess, args: list[str]) -> None:
        assert process.pid is not None, "started"
        self._process = process
        # The exit code arrives once on a pipe: two threads reading it at once (a test's killer
        # thread and its main thread) would leave one of them an EOF, reported as 255.
        self._lock = threading.Lock()
        self.args = args
        self.pid: int = process.pid

    @property
    def returncode(self) -> int | None:
        """The exit code, or minus the signal that ended it; None while it runs."""
        return self.poll()

    def poll(self) -> int | None:
        with self._lock:
            return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        multiprocessing.connection.wait([self._process.sentinel], timeout)
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _startup_variables(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if STARTUP_VARIABLES.fullmatch(k)}


@functools.cache
def _fork_server() -> tuple[ForkServerContext, dict[str, str]]:
    """The context whose fork server preloads the server, started now, and the startup
    variables it was started with (this process's, as they are now)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    multiprocessing.forkserver.ensure_running()
    # Servers still running when the caller exits are stopped rather than waited for (a
    # forked child is joined at exit, unlike a subprocess); registered after multiprocessing's
    # own exit hook, so it runs first.
    atexit.register(_stop_leftovers)
    return context, _startup_variables(os.environ)


def can_fork(env: Mapping[str, str]) -> bool:
    """Whether a forked child would start as a fresh process given ``env`` would."""
    return _startup_variables(env) == _fork_server()[1]


def fork_server(args: list[str], env: dict[str, str], log_file: Path) -> ForkedProcess:
    """Run ``args`` (``carbon-ledger serve ...``) in a child forked from the fork server, with
    ``env`` as its whole environment and its output appended to ``log_file``."""
    context, _ = _fork_server()
    process = context.Process(
        target=_run, args=(args, env, str(log_file)), name=" ".join(["ledger", *args[1:]])
    )
    process.start()
    _running.add(process)
    return ForkedProcess(process, args)


def _run(args: list[str], env: dict[str, str], log_file: str) -> None:
    """In the child: take the given environment and output, then run the command."""
    os.environ.clear()
    os.environ.update(env)
    _standard_streams(log_file)
    sys.argv = list(args)
    # Imported here, after the environment is in place: its consoles read it on creation.
    from ledger_api.cli import app

    app(args=args[1:], prog_name=Path(args[0]).name)


def _standard_streams(log_file: str) -> None:
    """Standard input, output and error on 0, 1 and 2 as a fresh process has them: /dev/null
    and the log. multiprocessing leaves stdin on another descriptor, which is no use to a
    process the server spawns (uvicorn passes its number to each API worker)."""
    sys.stdout.flush()
    sys.stderr.flush()
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    for fd, to in ((null, 0), (log, 1), (log, 2)):
        os.dup2(fd, to)
    stdin = sys.stdin.fileno()
    sys.stdin.close()
    for fd in {null, log, stdin} - {0, 1, 2}:
        os.close(fd)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 (it lives as long as the process)
    # The fork server's stdout may have been a terminal (line-buffered); a fresh process
    # writing to a file buffers by blocks.
    sys.stdout.reconfigure(line_buffering=False)


def seed_database(env: Mapping[str, str]) -> bool:
    """Put a copy of this process's migrated template where a server started with ``env``
    would create a new SQLite database; its own migration then finds the schema at head and
    does nothing. Only for the default database: not when a URL or a config file may name
    another, nor when one is there already."""
    settings = {key.upper(): value for key, value in env.items()}
    config = Path(settings.get("CARBON_CONFIG", "carbon-ledger.toml"))
    if "CARBON_DATABASE_URL" in settings or config.exists():
        return False
    target = Path(settings["CARBON_DATA_DIR"]) / DEFAULT_DATABASE
    if any(target.parent.glob(DEFAULT_DATABASE + "*")):
        return False
    shutil.copyfile(migrated_template(), target)
    return True


@functools.cache
def migrated_template() -> Path:
    """A database migrated to head by the code ``serve`` runs (in a child of the fork server),
    once per process, before anything binds a deployment or writes a row."""
    folder = Path(tempfile.mkdtemp(prefix="ledger-template-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / DEFAULT_DATABASE
    context, _ = _fork_server()
    child = context.Process(target=_migrate, args=(f"sqlite:///{path}",), name="ledger template")
    child.start()
    child.join()
    # A WAL left beside it would hold part of the schema the copy would miss.
    if child.exitcode != 0 or sorted(folder.iterdir()) != [path]:
        raise RuntimeError(f"migrating the template database failed ({child.exitcode})")
    return path


def _migrate(url: str) -> None:
    from ledger_api.core.migrate import upgrade

    upgrade(url)


def _stop_leftovers() -> None:
    for process in list(_running):
        if process.exitcode is None:
            process.terminate()
            process.join(10)
            if process.exitcode is None:
                process.kill()
                process.join()
    # Reap the fork server rather than orphan it: then its CPU and its children's (every
    # server's) count toward this process's children, as fresh servers' did. `_stop` is the
    # standard library's own way to do that (its tests use it); without it, the fork server
    # still exits once this process has.
    stop = getattr(multiprocessing.forkserver._forkserver, "_stop", None)
    if stop is not None:
        stop()
