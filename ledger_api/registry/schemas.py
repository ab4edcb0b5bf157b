"""Request and response bodies of the registry: enterprises, sources, terminals, metadata
templates, bulk files and identifier resolution."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ledger_api.core.schemas import ADDRESS, HEX_SIGNATURE, IDENTIFIER, Strict


class EnterpriseIn(Strict):
    identifier: str | None = Field(
        default=None, pattern=IDENTIFIER, description="Omit to have the ledger mint one."
    )
    name: str = Field(min_length=1, max_length=200)
    industry: str = Field(min_length=1, max_length=64)
    region: str | None = Field(default=None, max_length=64)
    metadata: dict[str, Any] | None = Field(
        default=None, description="Checked against the industry's enterprise template."
    )
    template: str | None = Field(
        default=None,
        max_length=255,
        description="An enterprise template (extending the industry's) for this enterprise.",
    )
    signer: str | None = Field(
        default=None,
        pattern=ADDRESS,
        description="The enterprise's first signer key (an address). The enrolment that names "
        "it starts the enterprise's registry chain; every later registry change is an "
        "operation signed by the enterprise (POST /v1/registry-operations).",
    )


class EnterpriseOut(BaseModel):
    identifier: str
    name: str
    industry: str
    region: str | None
    created_at: datetime


class SourceIn(Strict):
    identifier: str | None = Field(
        default=None, pattern=IDENTIFIER, description="Omit to have the ledger mint one."
    )
    name: str = Field(min_length=1, max_length=200)
    metadata: dict[str, Any] | None = Field(
        default=None, description="Checked against the industry's source template."
    )


class SourceOut(BaseModel):
    identifier: str
    enterprise: str
    name: str


class DeviceIn(Strict):
    address: str = Field(pattern=ADDRESS)
    enterprise: str = Field(pattern=IDENTIFIER)
    sources: list[str] = Field(min_length=1, max_length=1000)
    metadata: dict[str, Any] | None = Field(
        default=None, description="Checked against the industry's terminal template."
    )


class RotateIn(Strict):
    """The terminal's new signing address; the old key is revoked from now on."""

    new_address: str = Field(alias="newAddress", pattern=ADDRESS)


class RevokeIn(Strict):
    reason: str | None = Field(default=None, max_length=200)


class DeviceOut(BaseModel):
    address: str
    enterprise: str
    sources: list[str]
    status: Literal["active", "revoked"]
    last_seq: int | None
    revoked_at: datetime | None
    successor: str | None = None


class TemplateIn(Strict):
    industry: str = Field(min_length=1, max_length=64)
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    document: dict[str, Any]


class TemplateRegisteredOut(BaseModel):
    id: str
    version: int
    digest: str
    parent: str | None


class TemplateOut(BaseModel):
    id: str
    version: int
    digest: str
    document: dict[str, Any]


class BulkOut(BaseModel):
    """What a bulk file registers (or, in a dry run, would register)."""

    dry_run: bool = Field(serialization_alias="dryRun")
    enterprises: int
    sources: int
    terminals: int


class HandleValueData(BaseModel):
    format: Literal["string"]
    value: str


class HandleValue(BaseModel):
    index: int
    type: str
    data: HandleValueData


class HandleError(BaseModel):
    code: str
    field: str


class HandleOut(BaseModel):
    """A Handle.net REST answer: 1 resolved, 2 malformed (HTTP 400), 100 unknown (HTTP 404)."""

    responseCode: int
    handle: str
    values: list[HandleValue] | None = None
    message: str | None = None
    error: HandleError | None = None


class SignedOperationIn(Strict):
    """A registry operation as the enterprise's key signed it (GET
    /v1/registry-operations/typed-data)."""

    operation: dict[str, Any] = Field(description="The EIP-712 RegistryOperation message.")
    signature: str = Field(pattern=HEX_SIGNATURE)


class RegistryOperationsIn(Strict):
    """Operations of one enterprise, in chain order, stored all or nothing (a rotation is the
    old key's ``device.rotated`` followed by the new key's ``device.registered``)."""

    operations: list[SignedOperationIn] = Field(min_length=1, max_length=100)


class ChainEventOut(BaseModel):
    action: str
    subject: str
    index: int
    digest: str


class RegistryHeadOut(BaseModel):
    """What the enterprise's next operation must name: ``index`` + 1, ``prev`` = ``digest``,
    an ``effective`` time no earlier than this one's, signed by ``signer``."""

    enterprise: str
    index: int
    digest: str
    effective: int
    signer: str


class RegistryTypedDataOut(BaseModel):
    types: dict[str, list[dict[str, str]]]
    primaryType: str
