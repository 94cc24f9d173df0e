"""The invitation state machine: which transitions are allowed, and what refuses the rest."""

from __future__ import annotations

from datetime import datetime, timedelta

from teamgate import errors

PENDING, ACCEPTED, DECLINED, REVOKED, EXPIRED = "pending", "accepted", "declined", "revoked", "expired"
STATUSES = (PENDING, ACCEPTED, DECLINED, REVOKED, EXPIRED)
MIN_DAYS, MAX_DAYS = 1, 30

_CLOSED = {
    ACCEPTED: errors.InvitationAccepted,
    DECLINED: errors.InvitationDeclined,
    REVOKED: errors.InvitationRevoked,
    EXPIRED: errors.InvitationExpired,
}


def effective_status(status: str, expires_at: datetime, now: datetime) -> str:
    """A pending invitation whose time has passed is expired, whether or not a job marked it."""
    return EXPIRED if status == PENDING and expires_at <= now else status


def ensure_usable(status: str, expires_at: datetime, now: datetime) -> None:
    """Accept, decline and validate need a pending, unexpired invitation (else a 400 code)."""
    current = effective_status(status, expires_at, now)
    if current != PENDING:
        raise _CLOSED[current]()


def ensure_cancellable(status: str) -> None:
    """Only a pending invitation (expired by time or not) can be cancelled."""
    if status not in (PENDING, EXPIRED):
        raise errors.InvitationNotPending(f"The invitation is {status}; only a pending one can be cancelled.")


def ensure_resendable(status: str) -> None:
    """Resend works on pending invitations and revives expired ones; closed ones stay closed."""
    if status not in (PENDING, EXPIRED):
        raise errors.InvitationNotPending(f"The invitation is {status}; only a pending or expired one can be resent.")


def expiry(now: datetime, days: float) -> datetime:
    return now + timedelta(days=days)
