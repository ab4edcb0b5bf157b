"""Schema migrations (Alembic), driven from code so no alembic.ini is needed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


#: PostgreSQL advisory lock key held while migrating ("carbonmg" in ASCII).
MIGRATION_LOCK = 0x636172626F6E6D67


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``. On PostgreSQL, processes starting on
    several hosts at once take turns: the first migrates, the others then find nothing to do
    (SQLite serialises writers itself)."""
    if not url.startswith("postgresql"):
        command.upgrade(alembic_config(url), revision)
        return
    from sqlalchemy import text

    from ledger_api.core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
            try:
                command.upgrade(alembic_config(url), revision)
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
    finally:
        engine.dispose()


def revision(url: str, message: str) -> None:
    """Autogenerate a new revision against the database at ``url`` (development only)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
