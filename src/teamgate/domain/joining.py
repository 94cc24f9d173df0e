"""Join links and join requests (DESIGN 14): what a link's state is, which addresses it admits,
and what a use of it leads to. Pure rules; services apply them.

A link is a shared secret with a cap (`max_uses`), an expiry, optional allowed domains and an
optional approval step. A use counts against the cap at the moment it is made, whatever follows:

  use --(address must be verified, and is not)--> request `unverified` --verified--> as below
  use --(approval required)---------------------> request `pending` --approve--> member (`approved`)
  use --(neither)-------------------------------> member                \\-deny----> `denied`

A request waiting for its address (`unverified`) or for a person (`pending`) holds a seat, as a
pending invitation does.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from teamgate import errors
from teamgate.domain.emails import parse_email

MAX_USES = 10_000
MAX_DOMAINS = 20


class LinkStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    USED_UP = "used_up"
    DELETED = "deleted"


class RequestStatus(StrEnum):
    UNVERIFIED = "unverified"  # waits for the person to prove the address (allowed domains)
    PENDING = "pending"  # waits for someone with invitations:manage
    APPROVED = "approved"
    DENIED = "denied"


# requests that still hold a seat and may still become a membership
OPEN = (RequestStatus.UNVERIFIED, RequestStatus.PENDING)


class Outcome(StrEnum):
    """What a use of a link leads to."""

    JOINED = "joined"
    PENDING_VERIFICATION = "pending_verification"
    PENDING_APPROVAL = "pending_approval"


def link_status(*, deleted_at: datetime | None, expires_at: datetime, uses: int, max_uses: int | None,
                now: datetime) -> LinkStatus:
    """Deleted first (it was withdrawn), then expired by time, then used up."""
    if deleted_at is not None:
        return LinkStatus.DELETED
    if expires_at <= now:
        return LinkStatus.EXPIRED
    if max_uses is not None and uses >= max_uses:
        return LinkStatus.USED_UP
    return LinkStatus.ACTIVE


_GONE = {
    LinkStatus.DELETED: "This join link was withdrawn.",
    LinkStatus.EXPIRED: "This join link has expired.",
    LinkStatus.USED_UP: "This join link has been used as many times as it allows.",
}


def ensure_usable(status: LinkStatus) -> None:
    """Raises JoinLinkExpired (410) unless the link is active; the detail says which way it closed."""
    if status != LinkStatus.ACTIVE:
        raise errors.JoinLinkExpired(_GONE[status] + " Ask the team for a new one.", state=status.value)


def check_max_uses(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_USES:
        raise errors.ValidationFailed("maxUses", f"must be 1 to {MAX_USES}")
    return value


def check_domains(domains: list[str]) -> list[str]:
    """Allowed domains as an address would have them after normalisation (case-folded, IDNA
    decoded), without duplicates. Raises ValidationFailed on a value that is not a domain."""
    if len(domains) > MAX_DOMAINS:
        raise errors.ValidationFailed("allowedDomains", f"at most {MAX_DOMAINS} domains")
    found: list[str] = []
    for raw in domains:
        text = raw.strip().removeprefix("@")
        if not text or "@" in text:
            raise errors.ValidationFailed("allowedDomains", f"{raw!r} is not a domain (write example.com)")
        try:  # the address library judges the domain exactly as it judges an address's
            domain = domain_of(parse_email(f"x@{text}").normalized)
        except ValueError:
            raise errors.ValidationFailed("allowedDomains", f"{raw!r} is not a domain (write example.com)") from None
        if domain not in found:
            found.append(domain)
    return found


def domain_of(email_normalized: str) -> str:
    return email_normalized.rpartition("@")[2]


def domain_allowed(email_normalized: str, allowed: list[str]) -> bool:
    """No list: any address. Else the address's domain is one of them, exactly (a subdomain is
    another domain: list it too)."""
    return not allowed or domain_of(email_normalized) in allowed


def ensure_domain_allowed(email_normalized: str, allowed: list[str]) -> None:
    if not domain_allowed(email_normalized, allowed):
        raise errors.EmailDomainNotAllowed(
            f"This link admits only addresses at {', '.join(allowed)}.", allowedDomains=allowed)


def outcome(*, restricted: bool, verified: bool, requires_approval: bool) -> Outcome:
    """With allowed domains the address must be proven first; then the approval step, if any."""
    if restricted and not verified:
        return Outcome.PENDING_VERIFICATION
    if requires_approval:
        return Outcome.PENDING_APPROVAL
    return Outcome.JOINED


def request_status(result: Outcome) -> RequestStatus:
    """The status of the request a use that does not join at once leaves behind."""
    return RequestStatus.UNVERIFIED if result is Outcome.PENDING_VERIFICATION else RequestStatus.PENDING


def ensure_decidable(status: str, *, approving: bool) -> None:
    """Approve takes a pending request (an unverified address cannot be let in past the domain
    rule); deny takes any open one. Raises JoinRequestNotPending."""
    if status == RequestStatus.PENDING or (not approving and status in OPEN):
        return
    verb = "approved" if approving else "denied"
    if status == RequestStatus.UNVERIFIED:
        raise errors.JoinRequestNotPending("This request waits for the person to verify their address; it cannot "
                                           f"be {verb} before that.")
    raise errors.JoinRequestNotPending(f"This request is {status}; only a pending one can be {verb}.")
