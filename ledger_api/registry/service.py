"""Checks shared by every registration path (single requests and bulk files)."""

from __future__ import annotations

import json
import threading
from functools import cache
from typing import Any

from sqlalchemy import false, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ledger_api.core.errors import ApiError, Problem
from ledger_api.core.models import MetadataTemplate
from ledger_api.registry.identifiers import IdentifierError, parse
from ledger_api.registry.templates import TemplateRegistry
from verifier.protocol.keccak import parse_address, to_checksum_address


@cache
def templates() -> TemplateRegistry:
    """One template registry per process (shipped public and industry templates)."""
    return TemplateRegistry.default()


def canonical_identifier(text: str, prefix: str, field: str = "identifier") -> str:
    """The identifier if it parses under our prefix and is already canonical; else a 422."""
    try:
        parsed = parse(text, allowed_prefixes={prefix})
    except IdentifierError as exc:
        raise ApiError(422, exc.code, str(exc), field) from None
    if parsed.text != text:
        raise ApiError(
            422,
            "non_canonical_identifier",
            f"write the identifier as {parsed.text}: one spelling per object",
            field,
        )
    return parsed.text


def checksum_address(text: str, field: str) -> str:
    """The EIP-55 form of an address; a 422 naming ``field`` when it is not one."""
    try:
        return to_checksum_address(parse_address(text))
    except ValueError as exc:
        raise ApiError(422, "invalid_address", str(exc), field) from None


class StoredTemplates:
    """Adds the enterprise templates kept in the database to this process's registry, oldest
    first, from the row after the last one it read; one loader at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.read_up_to = 0
        self._lock = threading.RLock()
        self._loading = False

    def __call__(self) -> None:
        with self._lock:
            if self._loading:  # registering a stored template looked up its parent
                return
            self._loading = True
            try:
                self._load(templates())
            finally:
                self._loading = False

    def _load(self, registry: TemplateRegistry) -> None:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(MetadataTemplate)
                .where(MetadataTemplate.id > self.read_up_to)  # type: ignore[arg-type,operator]
                .order_by(MetadataTemplate.id)  # type: ignore[arg-type]
            )
            for row in rows:
                if not registry.knows(row.template_id):
                    registry.register(json.loads(row.document), industry=row.industry)
                self.read_up_to = row.id  # type: ignore[assignment]


def load_stored_templates(engine: Engine) -> None:
    """Register the stored enterprise templates now, and again whenever an id is unknown."""
    loader = StoredTemplates(engine)
    loader()
    templates().catch_up_with(loader)


def lock_templates(session: Session) -> None:
    """Take a write lock that orders template registrations across API processes, then catch
    up, so the next version number is assigned from everything stored."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE metadata_template IN SHARE ROW EXCLUSIVE MODE"))
    else:  # SQLite's first write in a transaction takes its single write lock
        session.execute(update(MetadataTemplate).where(false()).values(industry=""))
    templates().catch_up()


def template_for(industry: str, template_id: str | None = None) -> str:
    """The template a document is checked against: the enterprise's own, else its industry's."""
    return template_id or templates().for_industry(industry).id


def check_metadata(
    industry: str,
    kind: str,
    metadata: dict[str, Any] | None,
    field: str = "metadata",
    template_id: str | None = None,
) -> None:
    """Validate registration metadata or record attributes against the template in force."""
    if metadata is None:
        return
    problems = templates().validate(template_for(industry, template_id), kind, metadata)
    if problems:
        first = problems[0]
        raise ApiError(
            422,
            "template_violation",
            first.message,
            f"{field}{first.path.removeprefix('$')}",
            problems=[
                Problem(code=p.code, message=p.message, field=f"{field}{p.path.removeprefix('$')}")
                for p in problems
            ],
        )
