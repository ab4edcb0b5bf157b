"""Publishing an evaluation (the enterprise's signed statement), and its proof for anyone."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ledger_api.access.deps import Manager
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import ApiError
from ledger_api.core.paths import IDENTIFIER
from ledger_api.evaluations.proofs import figure_proof
from ledger_api.evaluations.publication import (
    SignedStatement,
    public_figure,
    publication_evidence,
    publication_state,
    published_at_text,
    published_evaluation,
    set_published,
)
from verifier.formats.figure import FigureProofBundle
from verifier.formats.record import SIGNATURE
from verifier.protocol.publication import PUBLICATION_FIELDS, PUBLICATION_TYPE
from verifier.protocol.typed_data import DOMAIN_FIELDS

router = APIRouter(tags=["evaluations"])


class PublicationOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    identifier: str
    published: bool
    published_at: str | None = Field(alias="publishedAt")
    page: str = Field(description="The public page, relative to the ledger's public base URL.")


class StatementIn(BaseModel):
    """The enterprise's signed statement (``EvaluationPublication``); omitted only by an
    enterprise enrolled without a registry key."""

    model_config = ConfigDict(extra="forbid")

    publication: dict[str, Any] | None = None
    signature: str | None = Field(default=None, pattern=SIGNATURE)


class PublicationStateOut(BaseModel):
    """What the next statement signs after: its ``entry`` and ``prev`` (= ``head``), index
    ``index + 1``, and the key that must sign it (null: none, publish unsigned)."""

    model_config = ConfigDict(populate_by_name=True)

    identifier: str
    enterprise: str
    entry: str
    index: int
    head: str
    signer: str | None
    published: bool
    published_at: str | None = Field(alias="publishedAt")
    types: dict[str, list[dict[str, str]]]
    primary_type: str = Field(alias="primaryType")


def _out(identifier: str, published_at: str | None) -> PublicationOut:
    return PublicationOut(
        identifier=identifier,
        published=published_at is not None,
        publishedAt=published_at,
        page=f"/v/{identifier}",
    )


def _statement(body: StatementIn | None) -> SignedStatement | None:
    if body is None or (body.publication is None and body.signature is None):
        return None
    if body.publication is None or body.signature is None:
        missing = "publication" if body.publication is None else "signature"
        raise ApiError(422, "invalid_publication", f"{missing} is missing", missing)
    return SignedStatement(body.publication, body.signature)


@router.get(f"/v1/evaluations/{IDENTIFIER}/publication", response_model=PublicationStateOut)
def publication(identifier: str, session: SessionDep, caller: Manager) -> PublicationStateOut:
    """The evaluation's publication head and the EIP-712 types its statements are signed with
    (domain as for activity records: GET /v1/typed-data). The enterprise only."""
    state = publication_state(session, caller, identifier)
    return PublicationStateOut(
        **state,
        types={"EIP712Domain": DOMAIN_FIELDS, PUBLICATION_TYPE: PUBLICATION_FIELDS},
        primaryType=PUBLICATION_TYPE,
    )


@router.post(f"/v1/evaluations/{IDENTIFIER}/publish", response_model=PublicationOut)
def publish(
    identifier: str,
    session: SessionDep,
    context: Context,
    caller: Manager,
    body: StatementIn | None = None,
) -> PublicationOut:
    """Let anyone fetch this evaluation's proof and see its public page: the enterprise's
    signed ``publish`` statement, stored and anchored."""
    row = set_published(
        session, context.domain, caller, identifier, public=True, statement=_statement(body)
    )
    return _out(row.identifier, published_at_text(row))


@router.post(f"/v1/evaluations/{IDENTIFIER}/withdraw", response_model=PublicationOut)
def withdraw(
    identifier: str,
    session: SessionDep,
    context: Context,
    caller: Manager,
    body: StatementIn | None = None,
) -> PublicationOut:
    """End the publication with the enterprise's signed ``withdraw`` statement: the public
    page and bundle answer 404 again."""
    row = set_published(
        session, context.domain, caller, identifier, public=False, statement=_statement(body)
    )
    return _out(row.identifier, published_at_text(row))


@router.get(f"/v1/public/evaluations/{IDENTIFIER}/proof", response_model=FigureProofBundle)
def public_proof(identifier: str, session: SessionDep, context: Context) -> JSONResponse:
    """The figure proof of a published evaluation, without a key: the grade's when it is
    rated, else the total's, with the enterprise's signed publication statement. 404 when not
    published; 409 until the entry is anchored."""
    row = published_evaluation(session, identifier)
    figure = public_figure(json.loads(row.entry).get("rating"))
    bundle = figure_proof(session, context.engine, context.domain, identifier, figure)
    evidence = publication_evidence(session, context.engine, row)
    if evidence is not None:
        bundle = bundle.model_copy(update={"publication": evidence})
    return JSONResponse(bundle.to_json())
