"""Request and response bodies of signed activity data: typed data, batches, records."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, GetJsonSchemaHandler, field_serializer
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from ledger_api.core.schemas import ADDRESS, HEX_SIGNATURE, Strict

_DECIMAL = r"^[0-9]+$"


class ActivityRecordMessage(Strict):
    """The EIP-712 ``message`` of an activity record (docs/proof-format.md §2.2). Integers are
    decimal strings, since uint64 and uint256 exceed what JavaScript numbers hold exactly."""

    enterprise: str = Field(description="Enterprise identifier, e.g. 88.118.8/CL-ENT-GLASS-01")
    source: str = Field(description="Emission-source identifier of the enterprise")
    device: str = Field(pattern=ADDRESS, description="The signing terminal's address (EIP-55)")
    seq: str = Field(pattern=_DECIMAL, description="uint64: the device's sequence number")
    activity: str = Field(description="Activity code (GET /v1/units lists them)")
    quantity: str = Field(pattern=_DECIMAL, description="uint256: the amount × 10^decimals")
    decimals: str = Field(pattern=_DECIMAL, description="uint8: decimal places of quantity")
    unit: str = Field(description="Unit of the amount (GET /v1/units lists the spellings)")
    periodStart: str = Field(pattern=_DECIMAL, description="uint64: unix seconds")
    periodEnd: str = Field(pattern=_DECIMAL, description="uint64: unix seconds")
    attributesHash: str = Field(
        pattern=r"^0x[0-9a-fA-F]{64}$",
        description="bytes32: keccak of the attributes' canonical JSON; zero without any",
    )


class _DocumentedAsMessage:
    """Publishes ``ActivityRecordMessage`` as the field's schema while the field itself stays
    a plain object: ingestion checks each record itself and reports every bad one by its index
    and code (``invalid_batch``), which a request-level validation error would replace."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, _: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(ActivityRecordMessage.__pydantic_core_schema__)
        return {**schema, "title": "ActivityRecordMessage"}


class SignedRecordIn(Strict):
    """One record as signed: the EIP-712 ``message``, its signature, optional attributes."""

    record: Annotated[dict[str, Any], _DocumentedAsMessage]
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


class ActivityUnitsOut(BaseModel):
    activity: str
    canonical: list[str] = Field(description="The units the engine accounts the activity in")
    accepted: list[str] = Field(description="Every listed spelling a record may carry")


class UnitsOut(BaseModel):
    """The unit spellings each activity accepts, derived from the accounting engine's tables."""

    factor_set: str = Field(serialization_alias="factorSet")
    activities: list[ActivityUnitsOut]
