"""Added-value declarations: an enterprise signs the added value of a period before it is
graded with it (``docs/figure-proof-format.md``, inputs)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from accounting.numbers import decimal_str
from ledger_api.access.deps import Manager, enterprise_for
from ledger_api.core.deps import Context, SessionDep
from ledger_api.evaluations.declarations import declare, parse
from ledger_api.evaluations.schemas import DeclarationIn, DeclarationOut

router = APIRouter(prefix="/v1/added-value-declarations", tags=["evaluations"])


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
