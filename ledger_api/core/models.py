"""Database tables (SQLModel). Request and response shapes live apart in ``schemas.py``.

Hashes, addresses and signatures are stored as 0x-hex text so rows read the same in SQLite,
PostgreSQL and the API; scaled quantities as decimal text because they may exceed 64 bits.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

# Ids and sequence numbers that grow with every record: eight bytes on PostgreSQL (a four-byte
# id is spent in days at the ingestion target). SQLite keeps INTEGER, whose primary keys are
# eight-byte rowids already and autoincrement only under that name.
WIDE_INT = BigInteger().with_variant(Integer(), "sqlite")


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
    last_seq: int | None = Field(default=None, sa_type=WIDE_INT)
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

    id: int | None = Field(default=None, primary_key=True, sa_type=WIDE_INT)
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

    id: int | None = Field(default=None, primary_key=True, sa_type=WIDE_INT)
    digest: str = Field(unique=True, index=True, max_length=66)
    leaf_hash: str = Field(foreign_key="leaf.hash", unique=True, max_length=66)
    device_id: int = Field(foreign_key="device.id")
    source_id: int = Field(foreign_key="emission_source.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    seq: int = Field(sa_type=WIDE_INT)
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


class AnchorLease(SQLModel, table=True):
    """Who may anchor now (``ledger_api/ledger/lease.py``): one row per lease, times in the
    database's clock (milliseconds since the epoch) so hosts' clocks never disagree on it."""

    __tablename__ = "anchor_lease"

    name: str = Field(primary_key=True, max_length=32)
    holder: str | None = Field(default=None, max_length=128)
    token: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    expires_ms: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class LedgerBinding(SQLModel, table=True):
    """The one deployment this database's records are bound to (``ledger_api/ledger/
    binding.py``): each host reads its own deployment record file, the database decides."""

    __tablename__ = "ledger_binding"

    name: str = Field(primary_key=True, max_length=32)
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    contract: str = Field(max_length=42)


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
    # The head of the enterprise's signed publication statements about this evaluation: how
    # many there are and the registry event digest of the latest (the next one's ``prev``).
    publication_index: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    publication_head: str | None = Field(default=None, max_length=66)
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


# Monitoring (ledger_api/monitoring, docs/monitoring.md) -----------------------------------


class MonitorCursor(SQLModel, table=True):
    """How far the monitoring worker has folded a stream in (the last insertion id it read);
    updated in the transaction that writes the figures, so a killed round is redone whole."""

    __tablename__ = "monitor_cursor"

    name: str = Field(primary_key=True, max_length=32)
    position: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class MonitorFigure(SQLModel, table=True):
    """A rolling figure of a source or an enterprise over one hour, day or month (local time
    of reporting), summed incrementally from the records after the cursor."""

    __tablename__ = "monitor_figure"
    __table_args__ = (
        UniqueConstraint("scope", "subject_id", "span", "start", name="uq_monitor_figure"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=16)  # source | enterprise
    subject_id: int = Field(index=True)
    span: str = Field(max_length=8)  # hour | day | month
    start: int = Field(sa_column=Column(BigInteger, nullable=False))  # unix seconds
    energy_tce: str = Field(default="0", max_length=64)
    emissions_t: str = Field(default="0", max_length=64)
    readings: int = 0
    last_end: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class MonitorDevice(SQLModel, table=True):
    """What the worker last saw of a terminal: its latest sequence number and reading."""

    __tablename__ = "monitor_device"

    device_id: int = Field(primary_key=True, foreign_key="device.id")
    last_seq: int = Field(sa_type=WIDE_INT)
    last_end: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_received: datetime


class MonitorRule(SQLModel, table=True):
    """A rule of one enterprise (or one of its sources): kind and its JSON parameters."""

    __tablename__ = "monitor_rule"

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    source_id: int | None = Field(default=None, foreign_key="emission_source.id")
    kind: str = Field(max_length=32)
    params: str  # canonical JSON of the kind's parameters
    name: str = Field(max_length=100)
    active: bool = True
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Alert(SQLModel, table=True):
    """A rule's finding about one subject (a source, terminal or the enterprise): raised,
    acknowledged, resolved. At most one open alert per rule and subject."""

    __table_args__ = (
        Index(
            "uq_alert_open",
            "rule_id",
            "subject",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="monitor_rule.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    kind: str = Field(max_length=32)
    subject: str = Field(max_length=128)
    level: str = Field(default="", max_length=16)
    state: str = Field(default="raised", max_length=16, index=True)
    message: str = Field(max_length=500)
    figures: str  # canonical JSON: the numbers that raised or escalated it
    raised_at: datetime = Field(default_factory=utcnow)
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None


class AlertEvent(SQLModel, table=True):
    """One change of an alert: who (a principal's name, or ``monitor``), when, and why."""

    __tablename__ = "alert_event"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    action: str = Field(max_length=16)  # raised | escalated | acknowledged | resolved
    actor: str = Field(max_length=64)
    note: str | None = Field(default=None, max_length=1000)
    level: str = Field(default="", max_length=16)
    at: datetime = Field(default_factory=utcnow)


class Watch(SQLModel, table=True):
    """A financier or regulator watching an enterprise it may see."""

    __table_args__ = (UniqueConstraint("principal_id", "enterprise_id", name="uq_watch"),)

    id: int | None = Field(default=None, primary_key=True)
    principal_id: int = Field(foreign_key="principal.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class WebhookSubscription(SQLModel, table=True):
    """Where a principal's notifications go. The secret signs every message, so it is kept
    recoverable (docs/security.md, "Webhook secrets"); it is shown once, at creation."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    principal_id: int = Field(foreign_key="principal.id", index=True)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=100)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id")
    created_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


class WebhookDelivery(SQLModel, table=True):
    """The outbox: one message to one subscription, written in the transaction of the change
    it reports. ``message_id`` is the webhook-id every attempt and replay carries."""

    __tablename__ = "webhook_delivery"

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id", index=True)
    message_id: str = Field(unique=True, max_length=40)
    event_type: str = Field(max_length=40)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    payload: str  # canonical JSON, the signed body
    state: str = Field(default="pending", max_length=16, index=True)  # pending|delivered|dead
    attempts: int = 0
    next_attempt: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, index=True))
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


class GreenCertificateClaimRow(SQLModel, table=True):
    """An enterprise's signed claim of one serial range of green certificates (绿证) for a
    reporting period, anchored as its registry event (``event``). A serial is claimed once
    across all enterprises: ranges of a programme and prefix never overlap (checked under
    ``green_certificate_lock``; two ranges sharing an end are refused by the constraints even
    without it)."""

    __tablename__ = "green_certificate_claim"
    __table_args__ = (
        UniqueConstraint("programme", "serial_prefix", "first", name="uq_green_cert_first"),
        UniqueConstraint("programme", "serial_prefix", "last", name="uq_green_cert_last"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event: str = Field(unique=True, max_length=66)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    period_start: str = Field(max_length=10)
    period_end: str = Field(max_length=10)
    programme: str = Field(max_length=16)
    serial_prefix: str = Field(max_length=64)
    first: int = Field(sa_type=BigInteger)
    last: int = Field(sa_type=BigInteger)
    mwh: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)


class GreenCertificateLock(SQLModel, table=True):
    """One row every green-certificate claim updates first, so overlap checks run one after
    another in SQLite and PostgreSQL alike."""

    __tablename__ = "green_certificate_lock"

    id: int = Field(primary_key=True)
    claims: int = 0
