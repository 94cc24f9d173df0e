"""Webhooks' pure rules (DESIGN section 11): the event catalogue, which endpoint wants which
event, the retry schedule, when a failing endpoint is disabled, and what an endpoint URL may be.
Address checks at send time (SSRF) live in webhooks/addresses.py: they need the resolver."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from teamgate import errors
from teamgate.domain.delivery import OutboxStatus

EVENT_TYPES = frozenset({
    "invitation.created", "invitation.resent", "invitation.delivered", "invitation.delivery_failed",
    "invitation.accepted", "invitation.declined", "invitation.revoked", "invitation.expired",
    "membership.created", "membership.updated", "membership.deleted",
    "team.ownership_transferred", "webhook.test",
})
TEST_EVENT = "webhook.test"

# the wait after each failed attempt: about a day of retries, then the delivery has failed
RETRY_SCHEDULE = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                  timedelta(hours=5), timedelta(hours=10), timedelta(hours=10))
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
DISABLE_AFTER = timedelta(days=5)  # of continuous failure
SECRET_OVERLAP = timedelta(hours=24)  # the old secret keeps signing this long after a rotation
URL_MAX = 2048


def wants(events: list[str], event_type: str) -> bool:
    """An endpoint with no events listed takes them all; `webhook.test` reaches it whatever it lists."""
    return not events or event_type in events or event_type == TEST_EVENT


def check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - EVENT_TYPES)
    if unknown:
        raise errors.ValidationFailed("events", f"unknown event types: {', '.join(unknown)}")
    return sorted(set(events))


def retry_after(attempts: int) -> timedelta | None:
    """The wait before the next attempt after `attempts` attempts failed; None: give up (failed)."""
    return RETRY_SCHEDULE[attempts - 1] if 1 <= attempts <= len(RETRY_SCHEDULE) else None


def failing_since_after_failure(failing_since: datetime | None, now: datetime) -> datetime:
    return failing_since or now


def should_disable(failing_since: datetime | None, now: datetime) -> bool:
    """An endpoint that has failed without a single delivery for DISABLE_AFTER is disabled."""
    return failing_since is not None and now - failing_since >= DISABLE_AFTER


class EndpointState(StrEnum):
    """What people are shown of an endpoint (the console): sending, failing, or disabled, by a
    person or after DISABLE_AFTER of failure."""

    ENABLED = "enabled"
    FAILING = "failing"
    DISABLED = "disabled"
    DISABLED_AFTER_FAILURES = "disabled_after_failures"


def endpoint_state(disabled_at: datetime | None, failing_since: datetime | None) -> EndpointState:
    # disabling by hand clears the failing streak (services/webhooks.update); the dispatcher keeps it
    if disabled_at is not None:
        return EndpointState.DISABLED_AFTER_FAILURES if failing_since is not None else EndpointState.DISABLED
    return EndpointState.FAILING if failing_since is not None else EndpointState.ENABLED


def delivery_status(status: str) -> str:
    """A delivery's status as the API and the console show it: a sent outbox message is `delivered`."""
    return "delivered" if status == OutboxStatus.SENT else status


def next_attempt(status: str, next_attempt_at: datetime | None) -> datetime | None:
    """When a delivery is tried next: only a queued one waits for an attempt."""
    return next_attempt_at if status == OutboxStatus.QUEUED else None


def previous_secret_live(expires_at: datetime | None, now: datetime) -> bool:
    """The secret before the last rotation still signs beside the new one (SECRET_OVERLAP)."""
    return expires_at is not None and expires_at > now


def check_url(url: str, *, allow_http: bool) -> str:
    """What an endpoint URL may be at create or update: https (http only when allowed), a host,
    no credentials, bounded. Where it points is checked at send time, when it is resolved."""
    if len(url) > URL_MAX:
        raise errors.ValidationFailed("url", f"at most {URL_MAX} characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # a bad port raises here
    except ValueError as error:
        raise errors.ValidationFailed("url", "not a valid URL") from error
    allowed = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in allowed:
        raise errors.ValidationFailed("url", "must be https" if not allow_http else "must be http or https")
    if not parts.hostname:
        raise errors.ValidationFailed("url", "needs a host")
    if parts.username is not None or parts.password is not None:
        raise errors.ValidationFailed("url", "must not carry credentials")
    if parts.fragment:
        raise errors.ValidationFailed("url", "must not have a fragment")
    if port == 0:
        raise errors.ValidationFailed("url", "not a valid port")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise errors.ValidationFailed("url", "must not contain spaces or control characters")
    return url
