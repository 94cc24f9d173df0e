"""Domain errors with stable codes. No HTTP here: api/errors.py maps each code to a status."""

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


def _error(name: str, code: str, title: str) -> type[TeamgateError]:
    return type(name, (TeamgateError,), {"code": code, "title": title})


BadRequest = _error("BadRequest", "bad_request", "Bad request")
InvitationExpired = _error("InvitationExpired", "invitation_expired", "Invitation expired")
InvitationAccepted = _error("InvitationAccepted", "invitation_accepted", "Invitation already accepted")
InvitationRevoked = _error("InvitationRevoked", "invitation_revoked", "Invitation revoked")
InvitationDeclined = _error("InvitationDeclined", "invitation_declined", "Invitation declined")
Unauthenticated = _error("Unauthenticated", "unauthenticated", "Authentication required")
InvalidCredentials = _error("InvalidCredentials", "invalid_credentials", "Invalid email or password")
Forbidden = _error("Forbidden", "forbidden", "Forbidden")
RoleNotAllowed = _error("RoleNotAllowed", "role_not_allowed", "Role not allowed")
EmailMismatch = _error("EmailMismatch", "email_mismatch", "Signed in as a different email")
CsrfFailed = _error("CsrfFailed", "csrf_failed", "CSRF check failed")
NotFound = _error("NotFound", "not_found", "Not found")
InvitationNotFound = _error("InvitationNotFound", "invitation_not_found", "Invalid or expired invitation")
AlreadyMember = _error("AlreadyMember", "already_member", "Already a member of the team")
InvitationPending = _error("InvitationPending", "invitation_pending", "An invitation is already pending")
InvitationNotPending = _error("InvitationNotPending", "invitation_not_pending", "Invitation is not pending")
AccountExists = _error("AccountExists", "account_exists", "An account with this email exists")
SeatLimitReached = _error("SeatLimitReached", "seat_limit_reached", "Seat limit reached")
PendingLimitReached = _error("PendingLimitReached", "pending_limit_reached", "Too many pending invitations")
ServiceUnavailable = _error("ServiceUnavailable", "service_unavailable", "Service unavailable")
RateLimited = _error("RateLimited", "rate_limited", "Too many requests")
# a password-reset or verification link that is unknown, used, expired or for the other purpose
TokenInvalid = _error("TokenInvalid", "token_invalid", "Invalid or expired link")
EmailAlreadyVerified = _error("EmailAlreadyVerified", "email_already_verified", "Email address already verified")
PayloadTooLarge = _error("PayloadTooLarge", "payload_too_large", "Request body too large")


class ValidationFailed(TeamgateError):
    code = "validation_error"
    title = "Validation failed"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, errors=[{"field": field, "message": message}])
