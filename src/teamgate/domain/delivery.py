"""Email delivery as two state machines: the outbox message, and the delivery state an invitation
mirrors from it (DESIGN section 4, "Email delivery").

An outbox message:

  queued --claim--> sending --sent----------------> sent
     ^                 |  \\---failed, attempts left --> queued (retry after a backoff)
     |                 |  \\---failed, none left -----> failed --operator retry--> queued
     |                 \\------never attempted --------> queued (released, attempt not counted)
     \\---- a cancelled or re-sent invitation --------> cancelled

A `sending` row whose lease ran out is due again (a dispatcher died holding it). An invitation's
delivery is `skipped` (no email asked for), then follows its message: queued, sent or failed.

Each transition returns the column values it writes; services and the dispatcher apply them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Channel(StrEnum):
    """What an outbox message is, to operators and /metrics: an email of any kind (invitation,
    resend, account mail), or a webhook delivery (DESIGN 11), which share the outbox."""

    EMAIL = "email"
    WEBHOOK = "webhook"


WEBHOOK_KIND = "webhook"  # the `kind` of a webhook delivery; every other kind is an email


def channel(kind: str) -> Channel:
    return Channel.WEBHOOK if kind == WEBHOOK_KIND else Channel.EMAIL


# due to be (re)claimed: queued, or sending under a lease that may have run out; "waiting" to operators
WAITING = (OutboxStatus.QUEUED, OutboxStatus.SENDING)
# finished, body erased: what the upkeep job purges after the retention period
FINISHED = (OutboxStatus.SENT, OutboxStatus.CANCELLED)
# what a cancelled or re-sent invitation takes back: a message in hand (sending) is not
CANCELLABLE = OutboxStatus.QUEUED


def claimed(attempts: int) -> dict[str, Any]:
    """queued (or sending, lease run out) -> sending: one more attempt is counted now."""
    return {"status": OutboxStatus.SENDING, "attempts": attempts + 1}


def released() -> dict[str, Any]:
    """sending -> queued, never attempted (the dispatcher is stopping, or the recipient's cap waits)."""
    return {"status": OutboxStatus.QUEUED, "claim_id": None}


def sent(now: datetime) -> dict[str, Any]:
    """sending -> sent: the body (it holds the link) is erased, the last error cleared."""
    return {"status": OutboxStatus.SENT, "sent_at": now, "body": None, "last_error": None, "last_error_code": None}


def after_failure(attempts: int, max_attempts: int) -> OutboxStatus:
    """sending -> queued while attempts are left, else failed (an operator may retry it)."""
    return OutboxStatus.FAILED if attempts >= max_attempts else OutboxStatus.QUEUED


def unreadable() -> OutboxStatus:
    """sending -> failed at once: a body that cannot be decrypted never will be."""
    return OutboxStatus.FAILED


def may_retry(status: str) -> bool:
    """Only a failed message is queued again by an operator; the others are on their way or done."""
    return status == OutboxStatus.FAILED


def retried(now: datetime) -> dict[str, Any]:
    """failed -> queued, due now, with a fresh set of attempts."""
    return {"status": OutboxStatus.QUEUED, "attempts": 0, "next_attempt_at": now, "last_error": None,
            "last_error_code": None}


def cancelled() -> dict[str, Any]:
    """queued -> cancelled, body erased: the link in it no longer works."""
    return {"status": OutboxStatus.CANCELLED, "body": None}


# --- the invitation's mirror --------------------------------------------------------------

def delivery_queued() -> dict[str, Any]:
    """An invitation email queued by create or resend: attempts and the last error start over
    (its reason code stays, hidden while no sentence goes with it; see api/present.py)."""
    return {"delivery_status": DeliveryStatus.QUEUED, "delivery_attempts": 0, "delivery_last_error": None,
            "delivery_sent_at": None}


def delivery_retried() -> dict[str, Any]:
    """An operator queued the failed email again: attempts, sentence and code start over."""
    return {"delivery_status": DeliveryStatus.QUEUED, "delivery_attempts": 0, "delivery_last_error": None,
            "delivery_last_error_code": None}


def delivery_of(status: str) -> DeliveryStatus:
    """The invitation's delivery state for its message's state after an attempt (queued, sent, failed)."""
    return DeliveryStatus(status)
