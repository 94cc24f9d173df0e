"""Objects as the API shows them, as plain JSON-ready dicts, for webhook events (DESIGN 11: an
event's `data` is the object as the API shows it). The services may not import api/, so these
mirror api/present.py + api/schemas.py by hand; tests/webhooks/test_payloads.py checks that both
give the same JSON for the same rows, so they cannot drift apart unnoticed. An invitation never
carries a token here: there is no token on the row to show, only its hashes, which are left out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from teamgate.domain.invitation import effective_status
from teamgate.storage.models import Invitation, JoinRequest, Membership, ServerKey, User


def utc(d: datetime | None) -> str | None:
    """As api/schemas.Utc: RFC 3339 in UTC to the second, with a `Z`."""
    return None if d is None else d.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def inviter(i: Invitation) -> dict[str, Any]:
    """Who sent an invitation, as `invitedBy`."""
    if i.invited_by_api_key_id:
        return {"type": "api_key", "id": i.invited_by_api_key_id, "name": i.inviter_name}
    return {"type": "user", "id": i.invited_by_user_id, "name": i.inviter_name}


def invitation(i: Invitation, now: datetime, *, time: Callable[[datetime | None], Any] = utc) -> dict[str, Any]:
    """As api/present.invitation (InvitationOut). `time` writes each moment: RFC 3339 text here;
    the API's hot routes pass datetimes for orjson to write (api/present.invitation_json)."""
    return {
        "id": i.id, "teamId": i.team_id, "email": i.email, "role": i.role,
        "status": effective_status(i.status, i.expires_at, now), "taskIds": list(i.task_ids or []),
        "expiresAt": time(i.expires_at), "createdAt": time(i.created_at), "invitedBy": inviter(i),
        "acceptedBy": i.accepted_by_user_id, "acceptedAt": time(i.accepted_at), "declinedAt": time(i.declined_at),
        "revokedAt": time(i.revoked_at), "sendCount": i.send_count, "lastSentAt": time(i.last_sent_at),
        "redirectUrl": i.redirect_url,
        "delivery": {
            "status": i.delivery_status, "attempts": i.delivery_attempts, "lastError": i.delivery_last_error,
            # a resend clears the sentence, not the code: the sentence decides whether the code shows
            "lastErrorCode": i.delivery_last_error_code if i.delivery_last_error else None,
            "sentAt": time(i.delivery_sent_at)},
    }


def member(m: Membership, u: User) -> dict[str, Any]:
    """As api/present.member (MemberOut)."""
    return {"userId": u.id, "externalId": u.external_id, "email": u.email, "firstName": u.first_name,
            "lastName": u.last_name, "emailVerified": u.email_verified, "role": m.role, "isOwner": m.is_owner,
            "joinedAt": utc(m.created_at)}


def actor(kind: str, actor_id: str | None, *, user: User | None = None,
          server_key: ServerKey | None = None) -> dict[str, Any]:
    """Who acted, as an event's `actor`: a person with the id their product knows them by, and the
    server key through which a product acted for them (DESIGN 12), when it did."""
    found: dict[str, Any] = {"type": kind, "id": actor_id}
    if user is not None and user.external_id is not None:
        found["externalId"] = user.external_id
    if server_key is not None:
        found["serverKeyId"] = server_key.id
    return found


def decider(r: JoinRequest) -> dict[str, Any] | None:
    """As api/present.decider: who approved or denied; None while open, or when the link admitted the
    person itself once the address was verified."""
    if r.decided_by_api_key_id:
        return {"type": "api_key", "id": r.decided_by_api_key_id, "name": r.decider_name}
    if r.decided_by_user_id:
        return {"type": "user", "id": r.decided_by_user_id, "name": r.decider_name}
    return None


def join_request(r: JoinRequest) -> dict[str, Any]:
    """As api/present.join_request (JoinRequestOut)."""
    return {"id": r.id, "teamId": r.team_id, "joinLinkId": r.join_link_id, "userId": r.user_id, "email": r.email,
            "firstName": r.first_name, "lastName": r.last_name, "role": r.role, "status": r.status,
            "createdAt": utc(r.created_at), "decidedAt": utc(r.decided_at), "decidedBy": decider(r)}
