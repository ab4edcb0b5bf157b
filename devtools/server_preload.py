"""What a forked ledger server finds already loaded (the launcher's parent, server_launch.py).

Only the launcher's fork server imports this module: it runs once there, and every server
forked afterwards starts with these modules imported and the unit registry built, instead of
paying for them on each start. Everything here must hold for any environment a child is given,
so it may not read ``CARBON_*`` variables or the settings (``get_settings`` caches its first
answer), open a database or a socket, start a thread, or decide anything from whether standard
output is a terminal. ``tests/devtools/test_server_launch.py`` checks this after importing it.

Left out on purpose: ``ledger_api.cli`` and ``ledger_api.commands``, whose consoles look at the
terminal and its colour variables when they are created; each child imports them (cheap once
typer and rich are loaded).
"""

from __future__ import annotations

import importlib

from accounting.factors import load_factor_set
from accounting.units import converter_for

#: What ``carbon-ledger serve`` imports on its way to answering, found by diffing its imports
#: (``-X importtime``) against this list; what it still imports after a fork is small.
MODULES = (
    "ledger_api.app",
    "ledger_api.core.logs",
    "ledger_api.core.migrate",
    "alembic.command",
    "alembic.runtime.environment",
    "alembic.runtime.migration",
    "alembic.script",
    "sqlite3",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "sqlalchemy.dialects.postgresql.psycopg",
    "psycopg",
    "typer",
    "rich.console",
    "anyio.streams.memory",
    "anyio._core._sockets",
    "uvicorn",
    "uvicorn.config",
    "uvicorn.main",
    "uvicorn.server",
    "uvicorn.lifespan.on",
    "uvicorn.loops.auto",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.websockets.auto",
    "uvicorn.supervisors",
)

for _name in MODULES:
    importlib.import_module(_name)

# create_app builds this registry (half a second) from the shipped factor set alone and caches
# it per process (cache_folder=None: nothing on disk): built here, every child inherits it.
converter_for(load_factor_set())
