"""Request and response bodies of principals, their API keys and their grants."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ledger_api.core.schemas import ADDRESS, IDENTIFIER, Strict

PRINCIPAL_NAME = r"^[a-z0-9][a-z0-9._-]{1,63}$"
RoleName = Literal["admin", "enterprise", "terminal", "verifier", "financier", "regulator"]


class PrincipalIn(Strict):
    """A new principal; enterprise and terminal principals name their enterprise."""

    name: str = Field(pattern=PRINCIPAL_NAME)
    role: RoleName
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
    role: RoleName
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
    role: RoleName
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
