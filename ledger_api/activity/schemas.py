"""Request and response bodies of signed activity data: typed data, batches, records."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_serializer

from ledger_api.core.schemas import HEX_SIGNATURE, Strict


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


class RecordOut(BaseModel):
    """A stored record as its terminal signed it."""

    digest: str
    typed_data: dict[str, Any] = Field(serialization_alias="typedData")
    signature: str
    received_at: datetime = Field(serialization_alias="receivedAt")

    @field_serializer("received_at")
    def _iso(self, value: datetime) -> str:
        # As stored: the database's own timestamp text, not pydantic's "Z" spelling.
        return value.isoformat()
