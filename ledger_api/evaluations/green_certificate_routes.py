"""Green-certificate claims: an enterprise signs the serial range of green electricity
certificates (绿证) it uses against a period's purchased electricity (``docs/accounting.md``,
Scope 2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from ledger_api.access.deps import Manager, enterprise_for
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.schemas import HEX_SIGNATURE, Strict
from ledger_api.evaluations.green_certificates import claim_certificates, parse_claim
from verifier.protocol.green_certificates import CLAIM_FIELDS, CLAIM_TYPE
from verifier.protocol.typed_data import DOMAIN_FIELDS

router = APIRouter(prefix="/v1/green-certificate-claims", tags=["evaluations"])


class ClaimIn(Strict):
    """A green-certificate claim (``GET /v1/typed-data`` has its EIP-712 type) and the
    enterprise's signature of it."""

    claim: dict[str, Any] = Field(
        description="The GreenCertificateClaim message: enterprise, periodStart, periodEnd, "
        "programme (GEC), serialPrefix, firstSerial, lastSerial, mwh, vintageStart, "
        "vintageEnd, technology, attachmentHash, claimedAt."
    )
    signature: str = Field(pattern=HEX_SIGNATURE)


class ClaimOut(BaseModel):
    event: str = Field(description="Digest of the anchored green-certificates-claimed event.")
    enterprise: str
    period_start: str = Field(serialization_alias="periodStart")
    period_end: str = Field(serialization_alias="periodEnd")
    programme: str
    serial_prefix: str = Field(serialization_alias="serialPrefix")
    first_serial: str = Field(serialization_alias="firstSerial")
    last_serial: str = Field(serialization_alias="lastSerial")
    mwh: str


class ClaimTypedDataOut(BaseModel):
    """The EIP-712 types of a claim (the domain is the activity records' one)."""

    types: dict[str, list[dict[str, str]]]
    primaryType: str


@router.get("/typed-data", response_model=ClaimTypedDataOut)
def claim_typed_data() -> ClaimTypedDataOut:
    """The EIP-712 types an enterprise's key signs green-certificate claims with (same domain
    as activity records: GET /v1/typed-data)."""
    return ClaimTypedDataOut(
        types={"EIP712Domain": DOMAIN_FIELDS, CLAIM_TYPE: CLAIM_FIELDS}, primaryType=CLAIM_TYPE
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClaimOut)
def post_claim(
    body: ClaimIn, session: SessionDep, context: Context, caller: Manager, response: Response
) -> ClaimOut:
    """Store a claim signed by the enterprise's registered key, as an anchored event; 409
    ``certificate_serials_claimed`` when any of its serials is claimed already (by anyone);
    200 when the same signed claim is already stored."""
    claim = parse_claim(body.claim)
    enterprise = enterprise_for(session, caller, claim.enterprise, write=True)
    stored = claim_certificates(session, context.domain, enterprise, claim, body.signature)
    if not stored.created:
        response.status_code = status.HTTP_200_OK
    message = claim.to_message()
    return ClaimOut(
        event=stored.event_digest,
        enterprise=claim.enterprise,
        period_start=message["periodStart"],
        period_end=message["periodEnd"],
        programme=claim.programme,
        serial_prefix=claim.serial_prefix,
        first_serial=message["firstSerial"],
        last_serial=message["lastSerial"],
        mwh=message["mwh"],
    )
