"""Added-value declarations: an enterprise signs the added value of a period before it is
graded with it (``docs/figure-proof-format.md``, inputs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from accounting.numbers import decimal_str
from ledger_api.access.deps import Auditor, Manager, Overseer, enterprise_for
from ledger_api.core.deps import Context, SessionDep
from ledger_api.evaluations.declarations import (
    countersign,
    declaration_event,
    declare,
    name_countersigner,
    parse,
)
from ledger_api.evaluations.schemas import (
    COUNTERSIGNER_NAME,
    CountersignatureIn,
    CountersignatureOut,
    CountersignerIn,
    CountersignerOut,
    DeclarationIn,
    DeclarationOut,
)

router = APIRouter(prefix="/v1/added-value-declarations", tags=["evaluations"])
countersigners = APIRouter(prefix="/v1/countersigners", tags=["evaluations"])

EventDigest = Annotated[str, Path(pattern=r"^0x[0-9a-f]{64}$")]
Name = Annotated[str, Path(pattern=COUNTERSIGNER_NAME)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DeclarationOut)
def post_declaration(
    body: DeclarationIn,
    session: SessionDep,
    context: Context,
    caller: Manager,
    response: Response,
) -> DeclarationOut:
    """Store a declaration signed by the enterprise's registered key, as an anchored event;
    200 when the same signed declaration is already stored."""
    declaration = parse(body.declaration)
    enterprise = enterprise_for(session, caller, declaration.enterprise, write=True)
    stored = declare(session, context.domain, enterprise, declaration, body.signature)
    if not stored.created:
        response.status_code = status.HTTP_200_OK
    return DeclarationOut(
        event=stored.event_digest,
        enterprise=declaration.enterprise,
        period_start=declaration.period_start.isoformat(),
        period_end=declaration.period_end.isoformat(),
        added_value=decimal_str(declaration.value),
    )


@router.post(
    "/{event}/countersignatures",
    status_code=status.HTTP_201_CREATED,
    response_model=CountersignatureOut,
)
def post_countersignature(
    event: EventDigest,
    body: CountersignatureIn,
    session: SessionDep,
    context: Context,
    caller: Auditor,
    response: Response,
) -> CountersignatureOut:
    """Store a verifier's countersignature of the declaration, signed by the key named for
    it (``PUT /v1/countersigners/{name}``), as an anchored event; 200 when already stored."""
    declared = declaration_event(session, event)
    enterprise_for(session, caller, declared.subject)
    signer, digest, created = countersign(
        session, context.domain, declared, body.countersigner, body.signature
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return CountersignatureOut(
        event=digest, declaration=event, countersigner=body.countersigner, signer=signer
    )


@countersigners.put(
    "/{name}",
    response_model=CountersignerOut,
    responses={201: {"description": "A new key was named"}},
)
def put_countersigner(
    name: Name, body: CountersignerIn, session: SessionDep, _: Overseer, response: Response
) -> CountersignerOut:
    """Name the key a third-party verifier countersigns declarations with (an admin or
    regulator; an anchored event)."""
    signer, digest, created = name_countersigner(session, name, body.address)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return CountersignerOut(countersigner=name, signer=signer, event=digest)
