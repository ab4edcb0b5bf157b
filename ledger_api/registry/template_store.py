"""The metadata template catalog of this process: the shipped templates and the enterprise
templates stored in the database, loaded and registered across API processes."""

from __future__ import annotations

import json
import threading
from functools import cache
from typing import Any

import rfc8785
from sqlalchemy import false, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from accounting.errors import AccountingError
from accounting.validation import check_industry
from ledger_api.core.errors import ApiError
from ledger_api.core.models import MetadataTemplate
from ledger_api.registry.events import record_event
from ledger_api.registry.metadata_templates import Template, TemplateCatalog, TemplateError


@cache
def template_catalog() -> TemplateCatalog:
    """One template registry per process (shipped public and industry templates)."""
    return TemplateCatalog.default()


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
                self._load(template_catalog())
            finally:
                self._loading = False

    def _load(self, catalog: TemplateCatalog) -> None:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(MetadataTemplate)
                .where(MetadataTemplate.id > self.read_up_to)  # type: ignore[arg-type,operator]
                .order_by(MetadataTemplate.id)  # type: ignore[arg-type]
            )
            for row in rows:
                if not catalog.knows(row.template_id):
                    catalog.register(json.loads(row.document), industry=row.industry)
                self.read_up_to = row.id  # type: ignore[assignment]


def load_stored_templates(engine: Engine) -> None:
    """Register the stored enterprise templates now, and again whenever an id is unknown."""
    loader = StoredTemplates(engine)
    loader()
    template_catalog().catch_up_with(loader)


def lock_templates(session: Session) -> None:
    """Take a write lock that orders template registrations across API processes, then catch
    up, so the next version number is assigned from everything stored."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE metadata_template IN SHARE ROW EXCLUSIVE MODE"))
    else:  # SQLite's first write in a transaction takes its single write lock
        session.execute(update(MetadataTemplate).where(false()).values(industry=""))
    template_catalog().catch_up()


def register_template(
    session: Session, industry: str, name: str, document: dict[str, Any]
) -> Template:
    """Register an enterprise template extending its industry's under the next version, store
    it and anchor its digest as a registry event; commits."""
    try:
        check_industry(industry)
        lock_templates(session)
        template = template_catalog().register(document, industry=industry, name=name)
    except AccountingError as exc:
        raise ApiError(422, exc.code, exc.message, "industry") from None
    except TemplateError as exc:
        raise ApiError(422, exc.code, str(exc), "document") from None
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:  # NaN, 2**53+, surrogates
        raise ApiError(422, "invalid_template", f"not canonical JSON: {exc}", "document") from None
    session.add(
        MetadataTemplate(
            template_id=template.id,
            industry=industry,
            document=rfc8785.dumps(template.document).decode(),
            digest=template.digest,
        )
    )
    record_event(
        session, "template.registered", template.id, industry=industry, digest=template.digest
    )
    session.commit()
    return template


def find_template(template_id: str) -> Template:
    """A template by its id, shipped or registered; 404 when there is none."""
    try:
        return template_catalog().get(template_id)
    except TemplateError as exc:
        raise ApiError(404, exc.code, str(exc), "template_id") from None
