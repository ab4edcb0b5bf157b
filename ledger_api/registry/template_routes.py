"""Metadata templates: read the shipped ones, register an enterprise's own (versioned)."""

from __future__ import annotations

from fastapi import APIRouter, status

from ledger_api.access.deps import Admin, CallerDep
from ledger_api.core.deps import SessionDep
from ledger_api.registry.schemas import TemplateIn, TemplateOut, TemplateRegisteredOut
from ledger_api.registry.template_store import find_template, register_template

router = APIRouter(prefix="/v1/templates", tags=["templates"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TemplateRegisteredOut)
def create_template(body: TemplateIn, session: SessionDep, _: Admin) -> TemplateRegisteredOut:
    """Register an enterprise template that extends its industry's; the next version is
    assigned, and the template's digest is anchored as a registry event."""
    template = register_template(session, body.industry, body.name, body.document)
    return TemplateRegisteredOut(
        id=template.id, version=template.version, digest=template.digest, parent=template.parent
    )


@router.get("/{template_id:path}", response_model=TemplateOut)
def get_template(template_id: str, _: CallerDep) -> TemplateOut:
    """A template document by its id (shipped or registered)."""
    template = find_template(template_id)
    return TemplateOut(
        id=template.id,
        version=template.version,
        digest=template.digest,
        document=template.document,
    )
