"""Publishing an evaluation (enterprise key), and its proof for anyone (no key)."""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ledger_api.access.deps import Manager
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.paths import IDENTIFIER
from ledger_api.evaluations.proofs import figure_proof
from ledger_api.evaluations.publication import (
    public_figure,
    published_at_text,
    published_evaluation,
    set_published,
)
from verifier.formats.figure import FigureProofBundle

router = APIRouter(tags=["evaluations"])


class PublicationOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    identifier: str
    published: bool
    published_at: str | None = Field(alias="publishedAt")
    page: str = Field(description="The public page, relative to the ledger's public base URL.")


def _out(identifier: str, published_at: str | None) -> PublicationOut:
    return PublicationOut(
        identifier=identifier,
        published=published_at is not None,
        publishedAt=published_at,
        page=f"/v/{identifier}",
    )


@router.post(f"/v1/evaluations/{IDENTIFIER}/publish", response_model=PublicationOut)
def publish(identifier: str, session: SessionDep, caller: Manager) -> PublicationOut:
    """Let anyone fetch this evaluation's proof and see its public page (the enterprise only)."""
    row = set_published(session, caller, identifier, public=True)
    return _out(row.identifier, published_at_text(row))


@router.post(f"/v1/evaluations/{IDENTIFIER}/withdraw", response_model=PublicationOut)
def withdraw(identifier: str, session: SessionDep, caller: Manager) -> PublicationOut:
    """End the publication: the public page and bundle answer 404 again."""
    row = set_published(session, caller, identifier, public=False)
    return _out(row.identifier, published_at_text(row))


@router.get(f"/v1/public/evaluations/{IDENTIFIER}/proof", response_model=FigureProofBundle)
def public_proof(identifier: str, session: SessionDep, context: Context) -> JSONResponse:
    """The figure proof of a published evaluation, without a key: the grade's when it is
    rated, else the total's. 404 when not published; 409 until the entry is anchored."""
    row = published_evaluation(session, identifier)
    figure = public_figure(json.loads(row.entry).get("rating"))
    bundle = figure_proof(session, context.engine, context.domain, identifier, figure)
    return JSONResponse(bundle.to_json())
