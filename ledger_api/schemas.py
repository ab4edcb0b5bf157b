"""Request and response bodies of the API (apart from the tables in ``models.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Identifiers: printable, no whitespace or control characters; schemes are checked elsewhere.
IDENTIFIER = r"^[\x21-\x7e]{1,128}$"
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
HEX_SIGNATURE = r"^0x[0-9a-fA-F]{130}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnterpriseIn(Strict):
    identifier: str = Field(pattern=IDENTIFIER)
    name: str = Field(min_length=1, max_length=200)
    industry: str = Field(min_length=1, max_length=64)
    region: str | None = Field(default=None, max_length=64)


class EnterpriseOut(BaseModel):
    identifier: str
    name: str
    industry: str
    region: str | None
    created_at: datetime


class SourceIn(Strict):
    identifier: str = Field(pattern=IDENTIFIER)
    name: str = Field(min_length=1, max_length=200)


class SourceOut(BaseModel):
    identifier: str
    enterprise: str
    name: str


class DeviceIn(Strict):
    address: str = Field(pattern=ADDRESS)
    enterprise: str = Field(pattern=IDENTIFIER)
    sources: list[str] = Field(min_length=1, max_length=1000)


class DeviceOut(BaseModel):
    address: str
    enterprise: str
    sources: list[str]
    status: Literal["active", "revoked"]
    last_seq: int | None
    revoked_at: datetime | None


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
