"""``carbon-ledger keys``: API keys from the command line, straight against the database.

This is how a fresh ledger gets its first admin key; after that, admins and enterprises
manage principals over the API. A token is printed once, on standard output only. The
database layer is imported inside each command, so the CLI starts without it.
"""

from __future__ import annotations

import typer
from rich.table import Table

from ledger_api.commands.runtime import console, fail

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)

ROLES = ("admin", "enterprise", "terminal", "verifier", "financier", "regulator")


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Principal name (created when new)."),
    role: str = typer.Option("admin", help=f"One of {', '.join(ROLES)}."),
    enterprise: str = typer.Option(None, help="Enterprise identifier (enterprise, terminal)."),
    label: str = typer.Option(None, help="A label for the key."),
) -> None:
    """Issue a key and print its token once (store it now: the ledger keeps only a hash)."""
    from ledger_api.access.principals import PrincipalError, key_for
    from ledger_api.core.config import get_settings

    if role not in ROLES:
        raise fail(f"role must be one of {', '.join(ROLES)}")
    if (role in ("enterprise", "terminal")) != (enterprise is not None):
        raise fail("--enterprise is required for enterprise and terminal keys, and only for them")
    try:
        issued = key_for(get_settings().effective_database_url, name, role, enterprise, label)
    except PrincipalError as exc:
        raise fail(str(exc)) from None
    typer.echo(issued.token)


@app.command("list")
def list_keys() -> None:
    """Every key with its principal; never a token."""
    from ledger_api.access.principals import keys
    from ledger_api.core.config import get_settings

    table = Table("key id", "principal", "role", "label", "status")
    for key_id, name, role, label, revoked in keys(get_settings().effective_database_url):
        table.add_row(key_id, name, role, label or "", "revoked" if revoked else "live")
    console.print(table)


@app.command("revoke")
def revoke_key(
    key_id: str = typer.Argument(..., help="The key id (second part of a token)."),
) -> None:
    """Revoke a key; requests with it are refused from the next one on."""
    from ledger_api.access.principals import revoke
    from ledger_api.core.config import get_settings

    if not revoke(get_settings().effective_database_url, key_id):
        raise fail(f"no key {key_id}")
    console.print(f"revoked {key_id}")
