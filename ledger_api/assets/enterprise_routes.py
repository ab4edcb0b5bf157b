"""An enterprise's carbon assets: the key that signs its operations, and its balances."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from ledger_api.access.deps import Manager, Reader, enterprise_for
from ledger_api.assets.holdings import holding_summary
from ledger_api.assets.schemas import HoldingOut, SignerIn, SignerOut
from ledger_api.assets.signers import set_signer
from ledger_api.core.deps import SessionDep
from ledger_api.core.paths import IDENTIFIER

router = APIRouter(prefix=f"/v1/enterprises/{IDENTIFIER}", tags=["assets"])


@router.put(
    "/signer",
    response_model=SignerOut,
    responses={201: {"description": "A new key was registered"}},
)
def put_signer(
    identifier: str, body: SignerIn, session: SessionDep, caller: Manager, response: Response
) -> SignerOut:
    """Register the key that signs the enterprise's asset operations (an anchored event);
    operations signed by an earlier key are refused from now on."""
    enterprise = enterprise_for(session, caller, identifier, write=True)
    out, changed = set_signer(session, enterprise, body.address)
    if changed:
        response.status_code = status.HTTP_201_CREATED
    return out


@router.get("/assets", response_model=list[HoldingOut])
def get_enterprise_assets(
    identifier: str, session: SessionDep, request: Request, caller: Reader
) -> list[HoldingOut]:
    """The enterprise's balances per lot (held, retired, surrendered) with proof links."""
    enterprise = enterprise_for(session, caller, identifier)
    return holding_summary(session, str(request.base_url).rstrip("/"), enterprise)
