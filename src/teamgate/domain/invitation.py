"""The invitation state machine (DESIGN section 4): which transitions are allowed, what each
changes, and what refuses the rest.

Each transition is a function that checks the invitation's state (raising the domain error)
and returns a `Move`: the statuses it may start from and the values it writes. Services apply
a move as one conditional update, so that of two concurrent callers exactly one wins.

           create / resend                 accept
  (none) ----------------> pending -------------------> accepted
                             |  \\---- decline --------> declined
                             |  \\---- cancel ---------> revoked
                             \\------- expires_at passes --> expired (resend revives it)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from teamgate import errors


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"


PENDING, ACCEPTED, DECLINED, REVOKED, EXPIRED = InvitationStatus
STATUSES = tuple(InvitationStatus)
# what cancel and resend act on: a pending invitation, whether or not the upkeep job has marked it expired
OPEN = (PENDING, EXPIRED)
MIN_DAYS, MAX_DAYS = 1, 30

_CLOSED = {
    ACCEPTED: errors.InvitationAccepted,
    DECLINED: errors.InvitationDeclined,
    REVOKED: errors.InvitationRevoked,
    EXPIRED: errors.InvitationExpired,
}


def closed_error(status: str) -> type[errors.TeamgateError]:
    """The error (and so the code) that a link to an invitation in `status` answers with."""
    return _CLOSED[InvitationStatus(status)]


@dataclass(frozen=True)
class Move:
    """A transition as one conditional update: only from `from_statuses` (and, when
    `unexpired_at` is set, only if the invitation has not expired by then), it writes `values`."""

    from_statuses: tuple[InvitationStatus, ...]
    status: InvitationStatus
    unexpired_at: datetime | None = None
    stamps: dict[str, datetime] = field(default_factory=dict)

    @property
    def values(self) -> dict[str, Any]:
        return {"status": self.status, **self.stamps}


def is_overdue(status: str, expires_at: datetime, now: datetime) -> bool:
    """Pending in storage but past its time: expired, whether or not the job has marked it yet."""
    return status == PENDING and expires_at <= now


def effective_status(status: str, expires_at: datetime, now: datetime) -> InvitationStatus:
    """A pending invitation whose time has passed is expired, whether or not a job marked it."""
    return EXPIRED if is_overdue(status, expires_at, now) else InvitationStatus(status)


def ensure_usable(status: str, expires_at: datetime, now: datetime) -> None:
    """Accept, decline and validate need a pending, unexpired invitation (else a 400 code)."""
    current = effective_status(status, expires_at, now)
    if current != PENDING:
        raise _CLOSED[current]()


def ensure_cancellable(status: str) -> None:
    """Only a pending invitation (expired by time or not) can be cancelled."""
    if status not in OPEN:
        raise errors.InvitationNotPending(f"The invitation is {status}; only a pending one can be cancelled.")


def ensure_resendable(status: str) -> None:
    """Resend works on pending invitations and revives expired ones; closed ones stay closed."""
    if status not in OPEN:
        raise errors.InvitationNotPending(f"The invitation is {status}; only a pending or expired one can be resent.")


def accept(status: str, expires_at: datetime, now: datetime) -> Move:
    """pending -> accepted, while unexpired. Raises the error of a closed invitation."""
    ensure_usable(status, expires_at, now)
    return Move((PENDING,), ACCEPTED, unexpired_at=now, stamps={"accepted_at": now})


def decline(status: str, expires_at: datetime, now: datetime) -> Move:
    """pending -> declined, while unexpired. Raises the error of a closed invitation."""
    ensure_usable(status, expires_at, now)
    return Move((PENDING,), DECLINED, unexpired_at=now, stamps={"declined_at": now})


def cancel(status: str, now: datetime) -> Move:
    """pending or expired -> revoked. Raises InvitationNotPending."""
    ensure_cancellable(status)
    return Move(OPEN, REVOKED, stamps={"revoked_at": now})


def resend(status: str) -> Move:
    """pending or expired -> pending (new tokens and expiry come with it). Raises InvitationNotPending."""
    ensure_resendable(status)
    return Move(OPEN, PENDING)


def expire() -> Move:
    """pending -> expired, by the clock (the upkeep job, or a create that finds an overdue one)."""
    return Move((PENDING,), EXPIRED)


def expiry(now: datetime, days: float) -> datetime:
    return now + timedelta(days=days)


# --- reminders (DESIGN 14) ------------------------------------------------------------------

def reminder_window(hours: float) -> timedelta | None:
    """How long before expiry a pending invitation is reminded of (TEAMGATE_REMINDER_BEFORE_EXPIRY_HOURS);
    None when reminders are off (0)."""
    return timedelta(hours=hours) if hours > 0 else None


def reminder_due(*, status: str, expires_at: datetime, lifetime_seconds: int, last_sent_at: datetime | None,
                 reminded_at: datetime | None, now: datetime, window: timedelta) -> bool:
    """One reminder per invitation and lifetime: pending and unexpired, within `window` of its
    expiry, emailed at least once (an invitation made without email is the admin's to share), not
    reminded since it was last (re)sent, and living longer than the window (a shorter one would
    be reminded the moment it was sent)."""
    return (status == PENDING and now < expires_at <= now + window and last_sent_at is not None
            and lifetime_seconds > window.total_seconds() and (reminded_at is None or reminded_at < last_sent_at))


def remind(now: datetime) -> dict[str, Any]:
    """What a reminder writes besides the new mail token: it is a send, and it marks the lifetime as reminded."""
    return {"reminded_at": now, "last_sent_at": now}


def ensure_renewable(status: str, expires_at: datetime, now: datetime) -> None:
    """A new link may be asked for only once the invitation has expired; a valid one is simply
    used (InvitationPending), a closed one says how it closed."""
    current = effective_status(status, expires_at, now)
    if current == PENDING:
        raise errors.InvitationPending("This invitation still works: accept it with the link you have.")
    if current != EXPIRED:
        raise _CLOSED[current]()
