"""Request and response bodies of carbon assets: signer and issuer keys, operations, lots,
holdings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ledger_api.core.schemas import ADDRESS, HEX_SIGNATURE, Strict


class SignerIn(Strict):
    """The address of the key that signs the enterprise's asset operations."""

    address: str = Field(pattern=ADDRESS)


class SignerOut(BaseModel):
    enterprise: str
    signer: str
    event: str = Field(description="Digest of the anchored enterprise.signer_set event.")


class IssuerOut(BaseModel):
    program: str
    signer: str
    event: str = Field(description="Digest of the anchored program.issuer_set event.")


class AssetOperationIn(Strict):
    """An asset operation as its owner signed it (see GET /v1/asset-operations/typed-data)."""

    operation: dict[str, Any] = Field(description="The EIP-712 AssetOperation message.")
    signature: str = Field(pattern=HEX_SIGNATURE)


class SerialRangeOut(BaseModel):
    first: int
    last: int
    status: Literal["held", "pending", "retired", "surrendered"]
    holder: str = Field(description="Who holds, is offered (pending), retired or surrendered them.")
    origin: str | None = Field(default=None, description="The sender of pending serials.")


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


class AssetTypedDataOut(BaseModel):
    """The EIP-712 types of an asset operation (the domain is the activity records' one)."""

    types: dict[str, list[dict[str, str]]]
    primaryType: str


class HeldRangeOut(BaseModel):
    first: int
    last: int
    proof: str


class PendingRangeOut(BaseModel):
    """Serials sent to the enterprise that count as its holding only once it accepts them."""

    first: int
    last: int
    sender: str


class RetirementOut(BaseModel):
    operation: str
    action: str
    first: int
    last: int
    proof: str


class HoldingOut(BaseModel):
    """One lot as seen from one enterprise: its balances from the journal, with proof links."""

    asset: str
    program: str
    vintage: int
    held: int = Field(description="Held and accepted: the only figure that is a holding.")
    pending: int = Field(default=0, description="Sent to it, awaiting its accept; not held.")
    retired: int
    surrendered: int
    held_ranges: list[HeldRangeOut] = Field(serialization_alias="heldRanges")
    pending_ranges: list[PendingRangeOut] = Field(
        default_factory=list, serialization_alias="pendingRanges"
    )
    retirements: list[RetirementOut]
