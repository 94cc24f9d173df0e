"""SQLAlchemy models of DESIGN section 3. Alembic migrations, not create_all, make the schema.

Integrity lives in the database too: unique folded email, one membership per (team, user),
one owner per team, one pending invitation per (team, email), unique secret hashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from teamgate.domain.delivery import WAITING, DeliveryStatus, OutboxStatus
from teamgate.domain.invitation import PENDING
from teamgate.storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = String(40)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


def _partial(condition: str) -> dict[str, Any]:
    """A partial-index condition for both dialects."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    email_normalized: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_system_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    # when the person last showed control of the mailbox (DESIGN 10); None: not proven
    email_verified_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    seat_limit: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        Index("uq_memberships_one_owner", "team_id", unique=True, **_partial("is_owner")),
        Index("ix_memberships_user_id", "user_id"),
    )
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64))
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_team_id_id", "team_id", "id"),)
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class TaskAssignment(Base):
    __tablename__ = "task_assignments"
    __table_args__ = (Index("ix_task_assignments_team_id_user_id", "team_id", "user_id"),)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]


class Invitation(Base):
    __tablename__ = "invitations"
    __table_args__ = (
        Index("uq_invitations_pending_team_email", "team_id", "email_normalized", unique=True,
              **_partial(f"status = '{PENDING}'")),
        Index("ix_invitations_team_id_status_id", "team_id", "status", "id"),
        Index("ix_invitations_team_id_id", "team_id", "id"),
        Index("ix_invitations_team_id_delivery_status_id", "team_id", "delivery_status", "id"),
        Index("ix_invitations_pending_expires_at", "expires_at", **_partial(f"status = '{PENDING}'")),
    )
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    email_normalized: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(64))
    task_ids: Mapped[list[str]] = mapped_column(default=list)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)  # the mail token: only in the email
    # the link token, returned once to whoever created or resent it; it does not prove the mailbox
    link_token_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    expires_at: Mapped[datetime]
    lifetime_seconds: Mapped[int] = mapped_column(Integer)
    invited_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invited_by_api_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    inviter_name: Mapped[str] = mapped_column(String(200))
    accepted_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    send_count: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None]
    delivery_status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.SKIPPED)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivery_last_error: Mapped[str | None] = mapped_column(Text)  # a fixed sentence (email/failures.py)
    delivery_last_error_code: Mapped[str | None] = mapped_column(String(32))
    delivery_sent_at: Mapped[datetime | None]

    # What a token lookup reads beside the invitation, loaded in its one statement (joinedload)
    # and so found by later `db.get()`s without another round trip. Never loaded lazily (async)
    # and never written through.
    team: Mapped[Team] = relationship(viewonly=True, lazy="raise")
    inviter_key: Mapped[ApiKey | None] = relationship(viewonly=True, lazy="raise")
    inviter_membership: Mapped[Membership | None] = relationship(
        primaryjoin="and_(Membership.team_id == foreign(Invitation.team_id), "
                    "Membership.user_id == foreign(Invitation.invited_by_user_id))", viewonly=True, lazy="raise")


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_team_id_id", "team_id", "id"),)
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    team: Mapped[Team] = relationship(viewonly=True, lazy="raise")  # as Invitation.team


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_id", "user_id"),)
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    active_team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class AccountToken(Base):
    """A single-use link sent to an account's address: a password reset or an email verification."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_id", "user_id"),)
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))  # "password_reset" | "verify_email"
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SetupToken(Base):
    """A one-time link that creates the first system owner (printed by serve or bootstrap)."""

    __tablename__ = "setup_tokens"
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_team_id_id", "team_id", "id"),)
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class OutboxMessage(Base):
    """An email or a webhook delivery waiting to be sent; bodies are encrypted and erased once sent.

For `kind` "webhook" (services/webhooks.py), `recipient` is the endpoint's id, `subject` the event
type, `event_id` the `webhook-id` header (the same on every retry); `sent` means delivered.

    queued -> sending (claimed by one dispatcher, under a lease) -> sent | queued (retry) | failed;
    cancelled when its link dies first.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "next_attempt_at", **_partial(f"status IN ('{WAITING[0]}', '{WAITING[1]}')")),
        Index("ix_outbox_messages_status_id", "status", "id"),
        Index("ix_outbox_messages_webhook_endpoint_id_id", "webhook_endpoint_id", "id"),
    )
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    invitation_id: Mapped[str | None] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # when a queued message is due; for a `sending` one, when its sender's lease runs out
    next_attempt_at: Mapped[datetime]
    claim_id: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)  # a fixed sentence, never the exception's text
    last_error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    webhook_endpoint_id: Mapped[str | None] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str | None] = mapped_column(String(40))
    last_response_status: Mapped[int | None] = mapped_column(Integer)  # the receiver's last HTTP status
    last_response_excerpt: Mapped[str | None] = mapped_column(String(200))  # printable, cut short


class WebhookEndpoint(Base):
    """Where a team's events are sent. Secrets are sealed with the outbox cipher; the previous one
    keeps signing beside the new one until `previous_secret_expires_at` (a rotation's overlap)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_team_id_id", "team_id", "id"),)
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    events: Mapped[list[str]] = mapped_column(default=list)  # empty: every event
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]  # the first failure since the last delivery
    created_at: Mapped[datetime]


class IdempotencyRecord(Base):
    """The first answer to a request sent with an Idempotency-Key (DESIGN 14), kept for its caller
    (an API key, or a person's sessions) until `expires_at`, then purged. Only the key's hash and
    the request's fingerprint are kept; the answer's body is sealed with the outbox cipher (it may
    hold a link token, an API key or a webhook secret)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller", "key_hash"), Index("ix_idempotency_keys_expires_at", "expires_at"),
                      CheckConstraint("(team_id IS NULL) <> (user_id IS NULL)", name="one_wall"))
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    caller: Mapped[str] = mapped_column(String(64))  # "api_key:key_..." or "user:usr_..."
    # whose wall the row stands behind: an API key's team, or a person (their sessions, in any team)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary(32))
    status_code: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(100))
    response: Mapped[bytes] = mapped_column(LargeBinary)  # sealed
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
