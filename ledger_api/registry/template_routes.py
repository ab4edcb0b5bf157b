"""Metadata templates: read the shipped ones, register an enterprise's own (versioned)."""

from __future__ import annotations

from typing import Any

import rfc8785
from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from accounting.errors import AccountingError
from accounting.validation import check_industry
from ledger_api.access.deps import Admin, CallerDep
from ledger_api.core.deps import SessionDep
from ledger_api.core.errors import ApiError
from ledger_api.core.models import MetadataTemplate
from ledger_api.registry.events import record_event
from ledger_api.registry.service import lock_templates, templates
from ledger_api.registry.templates import TemplateError

router = APIRouter(tags=["templates"])


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    industry: str = Field(min_length=1, max_length=64)
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    document: dict[str, Any]


@router.post("/templates", status_code=status.HTTP_201_CREATED)
def register_template(body: TemplateIn, session: SessionDep, _: Admin) -> dict[str, Any]:
    """Register an enterprise template that extends its industry's; the next version is
    assigned, and the template's digest is anchored as a registry event."""
    try:
        check_industry(body.industry)
        lock_templates(session)
        template = templates().register(body.document, industry=body.industry, name=body.name)
    except AccountingError as exc:
        raise ApiError(422, exc.code, exc.message, "industry") from None
    except TemplateError as exc:
        raise ApiError(422, exc.code, str(exc), "document") from None
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:  # NaN, 2**53+, surrogates
        raise ApiError(422, "invalid_template", f"not canonical JSON: {exc}", "document") from None
    session.add(
        MetadataTemplate(
            template_id=template.id,
            industry=body.industry,
            document=rfc8785.dumps(template.document).decode(),
            digest=template.digest,
        )
    )
    record_event(
        session, "template.registered", template.id, industry=body.industry, digest=template.digest
    )
    session.commit()
    return {
        "id": template.id,
        "version": template.version,
        "digest": template.digest,
        "parent": template.parent,
    }


@router.get("/templates/{template_id:path}")
def get_template(template_id: str, _: CallerDep) -> dict[str, Any]:
    """A template document by its id (shipped or registered)."""
    try:
        template = templates().get(template_id)
    except TemplateError as exc:
        raise ApiError(404, exc.code, str(exc), "template_id") from None
    return {
        "id": template.id,
        "version": template.version,
        "digest": template.digest,
        "document": template.document,
    }
