"""Request and response bodies of the API (apart from the tables in ``models.py``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Identifiers: printable, no whitespace or control characters; schemes are checked elsewhere.
IDENTIFIER = r"^[\x21-\x7e]{1,128}$"
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
HEX_SIGNATURE = r"^0x[0-9a-fA-F]{130}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class SignedRecordIn(Strict):
    """One record as signed: the EIP-712 ``message``, its signature, optional attributes."""

    record: dict[str, Any]
    signature: str = Field(pattern=HEX_SIGNATURE)
    attributes: dict[str, Any] | None = None


class ActivityBatchIn(Strict):
    records: list[SignedRecordIn] = Field(min_length=1)


class StoredRecord(BaseModel):
    digest: str
    status: Literal["stored", "duplicate"]


class ActivityBatchOut(BaseModel):
    accepted: int
    duplicates: int
    records: list[StoredRecord]


class TypedDataOut(BaseModel):
    """What any EIP-712 signer needs to sign an activity record we accept."""

    domain: dict[str, Any]
    types: dict[str, list[dict[str, str]]]
    primaryType: str


class BatchOut(BaseModel):
    id: int
    status: str
    root: str
    leaf_count: int
    manifest_hash: str
    manifest: dict[str, Any]
    chain_id: int
    contract: str
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    log_index: int | None
    chain_batch_id: int | None


DECIMAL_TEXT = r"^(0|[1-9][0-9]{0,17})(\.[0-9]{1,12})?$"
Code = Annotated[str, Field(pattern=IDENTIFIER)]  # an activity code or a factor id


class EvaluationIn(Strict):
    """One evaluation: an enterprise, a period (inclusive dates) and what grading needs.

    Figures are decimal strings (never JSON numbers), so no value passes through a float.
    """

    enterprise: str = Field(pattern=IDENTIFIER)
    period_start: date = Field(alias="periodStart")
    period_end: date = Field(alias="periodEnd")
    added_value: str | None = Field(
        default=None,
        alias="addedValue",
        pattern=DECIMAL_TEXT,
        description="Added value of the period in 万元.",
    )
    product_output: str | None = Field(
        default=None, alias="productOutput", pattern=DECIMAL_TEXT, description="t of main product."
    )
    ruleset: str | None = Field(default=None, max_length=64)
    factor_set: str | None = Field(default=None, alias="factorSet", max_length=64)
    gwp: str = Field(default="AR5", max_length=8)
    average_source: Literal["ruleset", "population"] = Field(
        default="ruleset", alias="averageSource"
    )
    factor_choices: dict[Code, Code] | None = Field(default=None, alias="factorChoices")


class EvaluationOut(BaseModel):
    identifier: str
    enterprise: str
    period_start: str = Field(serialization_alias="periodStart")
    period_end: str = Field(serialization_alias="periodEnd")
    digest: str
    total: str
    grade: int | None
    anchored: bool
    entry: dict[str, Any]


PRINCIPAL_NAME = r"^[a-z0-9][a-z0-9._-]{1,63}$"
Role = Literal["admin", "enterprise", "terminal", "verifier", "financier", "regulator"]


class PrincipalIn(Strict):
    """A new principal; enterprise and terminal principals name their enterprise."""

    name: str = Field(pattern=PRINCIPAL_NAME)
    role: Role
    enterprise: str | None = Field(default=None, pattern=IDENTIFIER)
    device: str | None = Field(
        default=None, pattern=ADDRESS, description="Hold a terminal key to this device's records."
    )
    label: str | None = Field(default=None, max_length=100, description="Label of its first key.")


class KeyIn(Strict):
    label: str | None = Field(default=None, max_length=100)


class KeyOut(BaseModel):
    key_id: str = Field(serialization_alias="keyId")
    label: str | None
    created_at: datetime = Field(serialization_alias="createdAt")
    revoked_at: datetime | None = Field(serialization_alias="revokedAt")


class NewKeyOut(BaseModel):
    """A new key. The token is shown this once; the ledger keeps only its hash."""

    key_id: str = Field(serialization_alias="keyId")
    token: str


class PrincipalOut(BaseModel):
    name: str
    role: Role
    enterprise: str | None
    device: str | None
    created_at: datetime = Field(serialization_alias="createdAt")


class NewPrincipalOut(PrincipalOut):
    key: NewKeyOut


class GrantIn(Strict):
    grantee: str = Field(pattern=PRINCIPAL_NAME, description="A verifier or financier principal.")
    purpose: str | None = Field(default=None, max_length=200)


class GrantOut(BaseModel):
    id: int
    enterprise: str
    grantee: str
    role: Role
    purpose: str | None
    created_at: datetime = Field(serialization_alias="createdAt")
    revoked_at: datetime | None = Field(serialization_alias="revokedAt")
    granted_event: str = Field(
        serialization_alias="grantedEvent", description="Digest of the anchored registry event."
    )
    revoked_event: str | None = Field(serialization_alias="revokedEvent")


class MeOut(PrincipalOut):
    grants: list[GrantOut] = Field(
        description="Grants this principal holds (verifiers, financiers)."
    )


class SignerIn(Strict):
    """The address of the key that signs the enterprise's asset operations."""

    address: str = Field(pattern=ADDRESS)


class SignerOut(BaseModel):
    enterprise: str
    signer: str
    event: str = Field(description="Digest of the anchored enterprise.signer_set event.")


class AssetOperationIn(Strict):
    """An asset operation as its owner signed it (see GET /v1/asset-operations/typed-data)."""

    operation: dict[str, Any] = Field(description="The EIP-712 AssetOperation message.")
    signature: str = Field(pattern=HEX_SIGNATURE)


class SerialRangeOut(BaseModel):
    first: int
    last: int
    status: Literal["held", "retired", "surrendered"]
    holder: str


class LotOut(BaseModel):
    identifier: str
    program: str
    vintage: int
    serial_prefix: str = Field(serialization_alias="serialPrefix")
    first: int
    last: int
    head: str
    operations: int
    ranges: list[SerialRangeOut]


class AssetOperationOut(BaseModel):
    digest: str
    lot: str
    position: int
    action: str
    first: int
    last: int
    quantity: int
    status: Literal["stored", "duplicate"]
    anchored: bool
    state: LotOut
