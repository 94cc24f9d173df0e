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
from teamgate.domain.joining import OPEN as OPEN_REQUESTS
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
    # the person's id in the product that signs them in (DESIGN 12); None for teamgate's own accounts
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def name(self) -> str:
        """The person's names, or their address when they gave none (a product's person may not)."""
        return f"{self.first_name} {self.last_name}".strip() or self.email


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
    # where the person continues after accepting on /invite (DESIGN 13): a product's page
    redirect_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    # when the one reminder of this lifetime was emailed (DESIGN 14); a later (re)send re-arms it
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)

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


class ServerKey(Base):
    """A product backend's key across every team (DESIGN 12): made by operators, stored hashed. It
    has no role of its own: in a team it acts for a person (X-Acting-User) with that person's role."""

    __tablename__ = "server_keys"
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


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
    # the server key the actor acted through (a product acting for the person), if any
    actor_server_key_id: Mapped[str | None] = mapped_column(String(40), default=None)
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


class OidcClient(Base):
    """An application that signs people in with teamgate (DESIGN 13). Installation-wide: made by
    an operator or a system owner. A confidential client's secret is stored only as SHA-256."""

    __tablename__ = "oidc_clients"
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))  # None: a public client
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)  # signs in without a consent page
    redirect_uris: Mapped[list[str]] = mapped_column(default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime]

    @property
    def public(self) -> bool:
        return self.secret_hash is None


class OidcSigningKey(Base):
    """An RS256 key pair. The private key is sealed with the outbox cipher; one key is active
    (signs), the retired ones stay published in the JWKS until their tokens have expired."""

    __tablename__ = "oidc_signing_keys"
    __table_args__ = (Index("uq_oidc_signing_keys_one_active", "active", unique=True, **_partial("active")),)
    id: Mapped[str] = mapped_column(Id, primary_key=True)  # the `kid`
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict[str, Any]] = mapped_column()
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class OAuthGrant(Base):
    """One sign-in of a person at a client: the authorization code it starts with (hashed, single
    use) and what was authorized. Its refresh tokens form one chain; revoking the grant (logout of
    the chain, a reused code or refresh token) ends all of them and the access tokens it issued
    (their `sid` names the grant)."""

    __tablename__ = "oauth_grants"
    __table_args__ = (Index("ix_oauth_grants_user_id", "user_id"), Index("ix_oauth_grants_client_id", "client_id"))
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    scope: Mapped[str] = mapped_column(String(300))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    code_expires_at: Mapped[datetime]
    code_used_at: Mapped[datetime | None]
    auth_time: Mapped[datetime]  # when the person signed in to teamgate (the session's start)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class OAuthRefreshToken(Base):
    """A refresh token of a grant, stored as SHA-256. Used once: its use makes the next one."""

    __tablename__ = "oauth_refresh_tokens"
    __table_args__ = (Index("ix_oauth_refresh_tokens_grant_id", "grant_id"),)
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("oauth_grants.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))  # the row's owner, for RLS
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class OAuthConsent(Base):
    """The scopes a person agreed to share with a (not first-party) client."""

    __tablename__ = "oauth_consents"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"), primary_key=True)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    granted_at: Mapped[datetime]


class JoinLink(Base):
    """A link anyone holding it may use to join a team (DESIGN 14): the token is stored only as its
    SHA-256; `uses` is counted by a conditional update, so concurrent uses never pass `max_uses`.
    Deleting one keeps the row (`deleted_at`), so its token answers "withdrawn", not "unknown"."""

    __tablename__ = "join_links"
    __table_args__ = (Index("ix_join_links_team_id_id", "team_id", "id"),)
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime]
    allowed_domains: Mapped[list[str]] = mapped_column(default=list)  # empty: any address
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_api_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    creator_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class JoinRequest(Base):
    """A use of a join link that waits: for the person to verify the address (`unverified`) or for
    someone to approve it (`pending`). The person's address and names are copied in, because the
    team's admins may not read the account of someone who is not (yet) their teammate."""

    __tablename__ = "join_requests"
    __table_args__ = (
        Index("ix_join_requests_team_id_status_id", "team_id", "status", "id"),
        Index("ix_join_requests_user_id", "user_id"),
        # one open request per person and team: a second use while one waits is refused
        Index("uq_join_requests_open_team_user", "team_id", "user_id", unique=True,
              **_partial(f"status IN ('{OPEN_REQUESTS[0]}', '{OPEN_REQUESTS[1]}')")),
    )
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    join_link_id: Mapped[str] = mapped_column(ForeignKey("join_links.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_api_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    decider_name: Mapped[str | None] = mapped_column(String(200))


class IdempotencyRecord(Base):
    """The first answer to a request sent with an Idempotency-Key (DESIGN 14), kept for its caller
    (an API key, or a person's sessions) until `expires_at`, then purged. Only the key's hash and
    the request's fingerprint are kept; the answer's body is sealed with the outbox cipher (it may
    hold a link token, an API key or a webhook secret)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller", "key_hash"), Index("ix_idempotency_keys_expires_at", "expires_at"),
                      CheckConstraint("(team_id IS NULL) <> (user_id IS NULL)", name="one_wall"))
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    # "api_key:key_...", "user:usr_...", or "server_key:srv_...:<team id>:<user id>" (acting for a person)
    caller: Mapped[str] = mapped_column(String(128))
    # whose wall the row stands behind: an API key's (or a server key's acting) team, or a person
    # (their sessions, in any team)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary(32))
    status_code: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(100))
    response: Mapped[bytes] = mapped_column(LargeBinary)  # sealed
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
