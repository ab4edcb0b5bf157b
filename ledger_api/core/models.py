"""Database tables (SQLModel). Request and response shapes live apart in ``schemas.py``.

Hashes, addresses and signatures are stored as 0x-hex text so rows read the same in SQLite,
PostgreSQL and the API; scaled quantities as decimal text because they may exceed 64 bits.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Enterprise(SQLModel, table=True):
    """A reporting entity (报告主体), keyed by its industrial-internet identifier."""

    id: int | None = Field(default=None, primary_key=True)
    identifier: str = Field(unique=True, index=True, max_length=128)
    name: str = Field(max_length=200)
    industry: str = Field(max_length=64)
    region: str | None = Field(default=None, max_length=64)
    metadata_json: str | None = None  # canonical JSON, validated against the templates
    template_id: str | None = Field(default=None, max_length=200)
    asset_signer: str | None = Field(default=None, max_length=42)  # signs its asset operations
    created_at: datetime = Field(default_factory=utcnow)


class EmissionSource(SQLModel, table=True):
    """An emission source (排放源) inside an enterprise's boundary."""

    __tablename__ = "emission_source"

    id: int | None = Field(default=None, primary_key=True)
    identifier: str = Field(unique=True, index=True, max_length=128)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    name: str = Field(max_length=200)
    metadata_json: str | None = None  # canonical JSON, validated against the templates
    created_at: datetime = Field(default_factory=utcnow)


class Device(SQLModel, table=True):
    """A collection terminal: the address of the key it signs with."""

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(unique=True, index=True, max_length=42)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    status: str = Field(default="active", max_length=16)  # active | revoked
    last_seq: int | None = Field(default=None)
    metadata_json: str | None = None  # canonical JSON, validated against the templates
    successor: str | None = Field(default=None, max_length=42)  # set by a key rotation
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class DeviceBinding(SQLModel, table=True):
    """Which sources a device may report for."""

    __tablename__ = "device_binding"

    device_id: int = Field(foreign_key="device.id", primary_key=True)
    source_id: int = Field(foreign_key="emission_source.id", primary_key=True)


class LeafRow(SQLModel, table=True):
    """A fact waiting for, or sitting in, an anchored batch (any leaf kind): the stored row of
    a protocol leaf (``verifier.protocol.leaves``)."""

    __tablename__ = "leaf"

    id: int | None = Field(default=None, primary_key=True)
    kind: int
    digest: str = Field(max_length=66)
    aux: str = Field(max_length=66)
    hash: str = Field(unique=True, max_length=66)
    batch_id: int | None = Field(default=None, foreign_key="anchor_batch.id", index=True)
    # Why the anchoring worker could not batch this leaf; such a leaf waits for an operator.
    set_aside: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class ActivityRecordRow(SQLModel, table=True):
    """A signed activity record exactly as the terminal signed it."""

    __tablename__ = "activity_record"
    __table_args__ = (UniqueConstraint("device_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(unique=True, index=True, max_length=66)
    leaf_hash: str = Field(foreign_key="leaf.hash", unique=True, max_length=66)
    device_id: int = Field(foreign_key="device.id")
    source_id: int = Field(foreign_key="emission_source.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    seq: int
    activity: str = Field(max_length=64)
    quantity: str = Field(max_length=80)
    decimals: int
    unit: str = Field(max_length=32)
    period_start: int
    period_end: int
    attributes_hash: str = Field(max_length=66)
    attributes: str | None = None  # canonical JSON, when the terminal sent the attributes
    signature: str = Field(max_length=132)
    received_at: datetime = Field(default_factory=utcnow)


class AnchorBatch(SQLModel, table=True):
    """A batch of leaves: its tree, manifest and where its root sits on chain.

    status: ``pending`` (tree stored, nothing sent) → ``sent`` (signed tx stored and
    broadcast) → ``confirmed`` (receipt seen, location recorded).
    """

    __tablename__ = "anchor_batch"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="pending", max_length=16, index=True)
    root: str = Field(unique=True, max_length=66)
    leaf_count: int
    manifest: str  # canonical JSON
    manifest_hash: str = Field(max_length=66)
    chain_id: int
    contract: str = Field(max_length=42)
    raw_tx: str | None = None
    tx_hash: str | None = Field(default=None, max_length=66)
    tx_nonce: int | None = None
    chain_batch_id: int | None = None
    block_number: int | None = None
    block_hash: str | None = Field(default=None, max_length=66)
    log_index: int | None = None
    gas_used: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    confirmed_at: datetime | None = None


class BatchTree(SQLModel, table=True):
    """The whole node array of a batch tree (32 bytes a node); proofs are derived from it."""

    __tablename__ = "batch_tree"

    batch_id: int = Field(foreign_key="anchor_batch.id", primary_key=True)
    nodes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Evaluation(SQLModel, table=True):
    """An anchored evaluation entry: an enterprise's accounted period and its rating."""

    __table_args__ = (
        # Two concurrent first evaluations of one period cannot both become current.
        Index(
            "uq_evaluation_current",
            "enterprise_id",
            "period_start",
            "period_end",
            "ruleset",
            unique=True,
            sqlite_where=text("superseded_by IS NULL"),
            postgresql_where=text("superseded_by IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    identifier: str = Field(unique=True, index=True, max_length=128)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    period_start: str = Field(max_length=10)  # ISO date, inclusive
    period_end: str = Field(max_length=10)
    entry: str  # RFC 8785 canonical JSON, the preimage of digest
    digest: str = Field(unique=True, max_length=66)
    leaf_hash: str = Field(foreign_key="leaf.hash", unique=True, max_length=66)
    total: str = Field(max_length=64)  # reported tCO2e
    grade: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # Set while the enterprise lets anyone fetch the figure proof (the public 碳效码 page).
    published_at: datetime | None = None
    # The ruleset the entry graded with ("" when not gradable): one current evaluation per
    # enterprise, period and ruleset (docs/grading.md, "Re-evaluation").
    ruleset: str = Field(default="", max_length=64)
    # The evaluation whose anchored entry supersedes this one; null while this one is current.
    superseded_by: str | None = Field(default=None, max_length=128)


class RegistryEvent(SQLModel, table=True):
    """A registry change (enterprise, source or terminal), anchored as a kind-3 leaf."""

    __tablename__ = "registry_event"

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=40, index=True)
    subject: str = Field(max_length=128, index=True)  # the identifier or device address
    body: str  # RFC 8785 canonical JSON, the preimage of digest
    digest: str = Field(unique=True, max_length=66)
    leaf_hash: str = Field(foreign_key="leaf.hash", unique=True, max_length=66)
    created_at: datetime = Field(default_factory=utcnow)
    # Set on the enterprise's registry chain (enrolment and signed operations): one event per
    # index, so two operations claiming the same place cannot both be stored.
    enterprise_id: int | None = Field(default=None)
    chain_index: int | None = Field(default=None)

    __table_args__ = (
        UniqueConstraint("enterprise_id", "chain_index", name="uq_registry_event_chain"),
    )


class MetadataTemplate(SQLModel, table=True):
    """An enterprise template (JSON Schema) registered at runtime; shipped ones are files."""

    __tablename__ = "metadata_template"

    id: int | None = Field(default=None, primary_key=True)
    template_id: str = Field(unique=True, max_length=255)
    industry: str = Field(max_length=64)
    document: str  # RFC 8785 canonical JSON
    digest: str = Field(max_length=66)
    created_at: datetime = Field(default_factory=utcnow)


class Principal(SQLModel, table=True):
    """Someone who calls the API: an enterprise, a terminal, a verifier, a financier, a
    regulator or an administrator. Enterprise and terminal principals belong to one
    enterprise; a terminal principal may be held to one device address."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=64)
    role: str = Field(max_length=16)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    device: str | None = Field(default=None, max_length=42)
    created_at: datetime = Field(default_factory=utcnow)
    # When its ingest allowance is next fully spent, in unix microseconds (see rate_limit.py).
    ingest_tat_us: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )


class ApiKey(SQLModel, table=True):
    """An API key: only the SHA-256 of its secret is kept, so a stolen database lets nobody in."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    key_id: str = Field(unique=True, index=True, max_length=32)
    secret_hash: str = Field(max_length=64)
    principal_id: int = Field(foreign_key="principal.id", index=True)
    label: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class AccessGrant(SQLModel, table=True):
    """An enterprise's consent that a verifier or financier may read its data; each grant and
    each withdrawal is also an anchored registry event."""

    __tablename__ = "access_grant"

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    grantee_id: int = Field(foreign_key="principal.id", index=True)
    purpose: str | None = Field(default=None, max_length=200)
    granted_event: str = Field(max_length=66)  # digest of the anchored registry event
    revoked_event: str | None = Field(default=None, max_length=66)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class AssetLot(SQLModel, table=True):
    """A lot of carbon assets: one issuance of an external registry's serial range."""

    __tablename__ = "asset_lot"

    id: int | None = Field(default=None, primary_key=True)
    identifier: str = Field(unique=True, index=True, max_length=128)
    program: str = Field(max_length=16, index=True)
    vintage: int
    serial_prefix: str = Field(max_length=64, index=True)
    first: int = Field(sa_type=BigInteger)
    last: int = Field(sa_type=BigInteger)
    head: str = Field(max_length=66)  # digest of the lot's latest operation
    # The lot rules it was written under (verifier.protocol.lot_rules); lots of rules 1 are
    # read, never written to again.
    rules: int = 2
    created_at: datetime = Field(default_factory=utcnow)


class AssetOperationRow(SQLModel, table=True):
    """A signed asset operation exactly as its owner signed it, anchored as a kind-5 leaf."""

    __tablename__ = "asset_operation"
    __table_args__ = (UniqueConstraint("lot_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="asset_lot.id", index=True)
    position: int  # 0 for the issue, then 1, 2, … along the lot's chain
    action: str = Field(max_length=16)
    digest: str = Field(unique=True, index=True, max_length=66)
    leaf_hash: str = Field(foreign_key="leaf.hash", unique=True, max_length=66)
    # The EIP-712 message as JSON with sorted keys and no whitespace: RFC 8785 while its
    # integers fit 2^53 - 1, the same spelling beyond (service.message_json).
    message: str
    signature: str = Field(max_length=132)
    owner_id: int = Field(foreign_key="enterprise.id", index=True)
    recipient_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    first: int = Field(sa_type=BigInteger)
    last: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)


class AssetIssuer(SQLModel, table=True):
    """The key that signs a carbon-asset programme's issues, named by an admin or regulator in
    an anchored ``program.issuer_set`` registry event (``event``); a new one replaces it."""

    __tablename__ = "asset_issuer"

    id: int | None = Field(default=None, primary_key=True)
    program: str = Field(unique=True, index=True, max_length=16)
    signer: str = Field(max_length=42)
    event: str = Field(max_length=66)
    created_at: datetime = Field(default_factory=utcnow)


class AssetJournalLine(SQLModel, table=True):
    """One line of the double-entry journal: each operation's lines sum to zero."""

    __tablename__ = "asset_journal"

    id: int | None = Field(default=None, primary_key=True)
    operation_id: int = Field(foreign_key="asset_operation.id", index=True)
    lot_id: int = Field(foreign_key="asset_lot.id", index=True)
    account: str = Field(max_length=160, index=True)  # holding:<id>, retired:<id>, registry:<p>
    quantity: int = Field(sa_type=BigInteger)


class AssetLedgerLock(SQLModel, table=True):
    """One row every asset operation updates first: its write lock orders all asset
    operations, in SQLite and PostgreSQL alike, so two can never both pass the checks."""

    __tablename__ = "asset_ledger_lock"

    id: int = Field(primary_key=True)
    operations: int = 0


class WebSession(SQLModel, table=True):
    """A browser signed in to the portal with an API key. The cookie carries a random token and
    the row only its SHA-256, so a read of the database opens no session; the row names the key
    it was opened with, so revoking that key ends the session too."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    csrf_token: str = Field(max_length=64)
    principal_id: int = Field(foreign_key="principal.id", index=True)
    key_id: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: int = Field(sa_column=Column(BigInteger, nullable=False))  # unix seconds
    ended_at: datetime | None = None
