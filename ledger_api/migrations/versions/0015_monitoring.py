"""monitoring: rolling figures, rules, alerts, watchlists and the webhook outbox

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_OPEN = "resolved_at IS NULL"


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _figures() -> None:
    op.create_table(
        "monitor_cursor",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_table(
        "monitor_figure",
        _id(),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False, index=True),
        sa.Column("span", sa.String(8), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("energy_tce", sa.String(64), nullable=False),
        sa.Column("emissions_t", sa.String(64), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column("last_end", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("scope", "subject_id", "span", "start", name="uq_monitor_figure"),
    )
    op.create_table(
        "monitor_device",
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("device.id"), primary_key=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_end", sa.BigInteger(), nullable=False),
        sa.Column("last_received", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )


def _alerts() -> None:
    op.create_table(
        "monitor_rule",
        _id(),
        sa.Column(
            "enterprise_id",
            sa.Integer(),
            sa.ForeignKey("enterprise.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("emission_source.id"), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("params", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_table(
        "alert",
        _id(),
        sa.Column(
            "rule_id", sa.Integer(), sa.ForeignKey("monitor_rule.id"), nullable=False, index=True
        ),
        sa.Column(
            "enterprise_id",
            sa.Integer(),
            sa.ForeignKey("enterprise.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("figures", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("raised_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )
    op.create_index(
        "uq_alert_open",
        "alert",
        ["rule_id", "subject"],
        unique=True,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    op.create_table(
        "alert_event",
        _id(),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alert.id"), nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("note", sa.String(1000), nullable=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )


def _webhooks() -> None:
    op.create_table(
        "watch",
        _id(),
        sa.Column(
            "principal_id", sa.Integer(), sa.ForeignKey("principal.id"), nullable=False, index=True
        ),
        sa.Column(
            "enterprise_id",
            sa.Integer(),
            sa.ForeignKey("enterprise.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("principal_id", "enterprise_id", name="uq_watch"),
    )
    op.create_table(
        "webhook_subscription",
        _id(),
        sa.Column(
            "principal_id", sa.Integer(), sa.ForeignKey("principal.id"), nullable=False, index=True
        ),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), sa.ForeignKey("enterprise.id"), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )
    op.create_table(
        "webhook_delivery",
        _id(),
        sa.Column(
            "subscription_id",
            sa.Integer(),
            sa.ForeignKey("webhook_subscription.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("message_id", sa.String(40), nullable=False, unique=True),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column(
            "enterprise_id",
            sa.Integer(),
            sa.ForeignKey("enterprise.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("payload", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", sa.BigInteger(), nullable=False, index=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )


def upgrade() -> None:
    _figures()
    _alerts()
    _webhooks()


def downgrade() -> None:
    for table in ("webhook_delivery", "webhook_subscription", "watch", "alert_event"):
        op.drop_table(table)
    op.drop_index("uq_alert_open", table_name="alert")
    for table in ("alert", "monitor_rule", "monitor_device", "monitor_figure", "monitor_cursor"):
        op.drop_table(table)
