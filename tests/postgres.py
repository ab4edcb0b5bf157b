"""The suite's PostgreSQL: one throwaway cluster per test process, and the switch that runs
every test ledger on it (``CARBON_TEST_DATABASE=postgres``, ``make test-postgres``)."""

from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import os

from devtools.postgres import create_database, postgres_cluster

__all__ = ["create_database", "fresh_database_url", "shared_cluster", "suite_on_postgres"]

#: ``CARBON_TEST_DATABASE=postgres`` runs every test ledger on PostgreSQL (``make
#: test-postgres``); unset or ``sqlite``, on SQLite as ``make test`` does.
SUITE_DATABASE = os.environ.get("CARBON_TEST_DATABASE", "sqlite")
_names = itertools.count(1)


def suite_on_postgres() -> bool:
    if SUITE_DATABASE not in ("sqlite", "postgres"):
        raise RuntimeError(f"CARBON_TEST_DATABASE must be sqlite or postgres, not {SUITE_DATABASE}")
    return SUITE_DATABASE == "postgres"


@functools.cache
def shared_cluster() -> str:
    """This test process's one cluster, started on first use and removed at its exit."""
    stack = contextlib.ExitStack()
    # A test process meets hundreds of ledgers, and the engines it made for them keep their
    # pooled connections: the server ends connections idle for half a minute (the ledger's
    # engines ping before use and reconnect), so only the live ones count.
    settings = "-c max_connections=300 -c idle_session_timeout=30s"
    base_url = stack.enter_context(postgres_cluster(settings))
    atexit.register(stack.close)
    return base_url


@functools.cache
def _migrated_template() -> str:
    """A database of this process's cluster migrated to head once, to copy for each ledger
    (each server's own migration then has nothing to do)."""
    from ledger_api.core.migrate import upgrade

    name = "ledger_template"
    upgrade(create_database(shared_cluster(), name))
    return name


def fresh_database_url() -> str:
    """A new database in this process's cluster, for one test ledger: a copy of the template."""
    name = f"ledger_{next(_names)}"
    return create_database(shared_cluster(), name, template=_migrated_template())
