"""Domain errors with stable codes. No HTTP here: api/errors.py maps each code to a status.

Each error is a class written out (not made by a factory) so that type checkers and readers see it."""

from __future__ import annotations

from typing import Any


class TeamgateError(Exception):
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, str]] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.extra = extra


class BadRequest(TeamgateError):
    code = "bad_request"
    title = "Bad request"


class InvitationExpired(TeamgateError):
    code = "invitation_expired"
    title = "Invitation expired"


class InvitationAccepted(TeamgateError):
    code = "invitation_accepted"
    title = "Invitation already accepted"


class InvitationRevoked(TeamgateError):
    code = "invitation_revoked"
    title = "Invitation revoked"


class InvitationDeclined(TeamgateError):
    code = "invitation_declined"
    title = "Invitation declined"


class Unauthenticated(TeamgateError):
    code = "unauthenticated"
    title = "Authentication required"


class InvalidCredentials(TeamgateError):
    code = "invalid_credentials"
    title = "Invalid email or password"


class Forbidden(TeamgateError):
    code = "forbidden"
    title = "Forbidden"


class RoleNotAllowed(TeamgateError):
    code = "role_not_allowed"
    title = "Role not allowed"


class EmailMismatch(TeamgateError):
    code = "email_mismatch"
    title = "Signed in as a different email"


class CsrfFailed(TeamgateError):
    code = "csrf_failed"
    title = "CSRF check failed"


class NotFound(TeamgateError):
    code = "not_found"
    title = "Not found"


class InvitationNotFound(TeamgateError):
    code = "invitation_not_found"
    title = "Invalid or expired invitation"


class AlreadyMember(TeamgateError):
    code = "already_member"
    title = "Already a member of the team"


class InvitationPending(TeamgateError):
    code = "invitation_pending"
    title = "An invitation is already pending"


class InvitationNotPending(TeamgateError):
    code = "invitation_not_pending"
    title = "Invitation is not pending"


class AccountExists(TeamgateError):
    code = "account_exists"
    title = "An account with this email exists"


class SeatLimitReached(TeamgateError):
    code = "seat_limit_reached"
    title = "Seat limit reached"


class PendingLimitReached(TeamgateError):
    code = "pending_limit_reached"
    title = "Too many pending invitations"


class ServiceUnavailable(TeamgateError):
    code = "service_unavailable"
    title = "Service unavailable"


class RateLimited(TeamgateError):
    code = "rate_limited"
    title = "Too many requests"


class TokenInvalid(TeamgateError):
    """A password-reset or verification link that is unknown, used, expired or for the other purpose."""

    code = "token_invalid"
    title = "Invalid or expired link"


class EmailAlreadyVerified(TeamgateError):
    code = "email_already_verified"
    title = "Email address already verified"


class PayloadTooLarge(TeamgateError):
    code = "payload_too_large"
    title = "Request body too large"


class DeliveryNotFailed(TeamgateError):
    code = "delivery_not_failed"
    title = "Only a failed delivery can be retried"


class JoinLinkNotFound(TeamgateError):
    code = "join_link_not_found"
    title = "Unknown join link"


class JoinLinkExpired(TeamgateError):
    """A join link that was deleted, has expired or is used up (410: it worked once, it will not again)."""

    code = "join_link_expired"
    title = "Join link expired"


class EmailDomainNotAllowed(TeamgateError):
    code = "email_domain_not_allowed"
    title = "Email domain not allowed"


class JoinRequestPending(TeamgateError):
    code = "join_request_pending"
    title = "A join request is already waiting"


class JoinRequestNotPending(TeamgateError):
    code = "join_request_not_pending"
    title = "Join request is not pending"


class BulkTooLarge(TeamgateError):
    code = "bulk_too_large"
    title = "Too many rows in one request"


class IdempotencyKeyReused(TeamgateError):
    """The Idempotency-Key was used before, by this caller, for a different request."""

    code = "idempotency_key_reused"
    title = "Idempotency key already used for another request"


class IdempotencyKeyInUse(TeamgateError):
    """A request with this Idempotency-Key is still being answered."""

    code = "idempotency_key_in_use"
    title = "A request with this idempotency key is in progress"


class ValidationFailed(TeamgateError):
    code = "validation_error"
    title = "Validation failed"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, errors=[{"field": field, "message": message}])

    @classmethod
    def of_fields(cls, problems: list[dict[str, str]]) -> ValidationFailed:
        """Several refused fields at once (what request parsing finds), with the API's one sentence."""
        refused = cls("body", "")
        refused.detail, refused.errors = "Some fields are missing or invalid.", problems
        refused.args = (refused.detail,)
        return refused
