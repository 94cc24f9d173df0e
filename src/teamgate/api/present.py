"""Stored records to response models (and nothing else)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from teamgate.api import join_schemas as j
from teamgate.api import schemas as s
from teamgate.domain import joining
from teamgate.domain.invitation import effective_status
from teamgate.services import payloads
from teamgate.storage.models import ApiKey, AuditEvent, Invitation, JoinLink, JoinRequest, Membership, Task, Team, User


def user(u: User) -> s.UserOut:
    return s.UserOut.model_validate(u)


def team(t: Team) -> s.TeamOut:
    return s.TeamOut.model_validate(t)


def member(m: Membership, u: User) -> s.MemberOut:
    return s.MemberOut(user_id=u.id, external_id=u.external_id, email=u.email, email_verified=u.email_verified,
                       first_name=u.first_name, last_name=u.last_name, role=m.role, is_owner=m.is_owner,
                       joined_at=m.created_at)


def person(u: User, memberships: list[tuple[Team, Membership, frozenset[str]]]) -> s.PersonOut:
    return s.PersonOut(**user(u).model_dump(), memberships=[
        s.TeamRoleOut(team_id=t.id, team_name=t.name, role=m.role, permissions=sorted(permissions))
        for t, m, permissions in memberships])


def task(t: Task, assignee_ids: list[str]) -> s.TaskOut:
    return s.TaskOut(id=t.id, title=t.title, description=t.description, assignee_ids=assignee_ids,
                     created_at=t.created_at)


def api_key(k: ApiKey) -> s.ApiKeyOut:
    return s.ApiKeyOut(id=k.id, name=k.name, role=k.role, prefix=k.prefix, created_by=k.created_by_user_id,
                       created_at=k.created_at, last_used_at=k.last_used_at, revoked_at=k.revoked_at)


def audit_event(e: AuditEvent) -> s.AuditEventOut:
    return s.AuditEventOut(id=e.id, action=e.action,
                           actor=s.ActorRef(type=e.actor_type, id=e.actor_id, server_key_id=e.actor_server_key_id),
                           target=s.Ref(type=e.target_type, id=e.target_id) if e.target_type else None,
                           ip=e.ip, user_agent=e.user_agent, data=e.data or {}, created_at=e.created_at)


def inviter(i: Invitation) -> s.Ref:
    if i.invited_by_api_key_id:
        return s.Ref(type="api_key", id=i.invited_by_api_key_id, name=i.inviter_name)
    return s.Ref(type="user", id=i.invited_by_user_id, name=i.inviter_name)


def invitation(i: Invitation, now: datetime) -> s.InvitationOut:
    return s.InvitationOut(
        id=i.id, team_id=i.team_id, email=i.email, role=i.role, status=effective_status(i.status, i.expires_at, now),
        task_ids=list(i.task_ids or []), expires_at=i.expires_at, created_at=i.created_at, invited_by=inviter(i),
        accepted_by=i.accepted_by_user_id, accepted_at=i.accepted_at, declined_at=i.declined_at,
        revoked_at=i.revoked_at, send_count=i.send_count, last_sent_at=i.last_sent_at, redirect_url=i.redirect_url,
        delivery=s.DeliveryOut(status=i.delivery_status, attempts=i.delivery_attempts,
                               last_error=i.delivery_last_error, last_error_code=delivery_error_code(i),
                               sent_at=i.delivery_sent_at))


def delivery_error_code(i: Invitation) -> str | None:
    """Requeueing (resend) clears the sentence but not the code, so the sentence decides whether one shows."""
    return i.delivery_last_error_code if i.delivery_last_error else None


def issued(i: Invitation, now: datetime, token: str, url: str) -> s.InvitationIssued:
    return s.InvitationIssued(**invitation(i, now).model_dump(), token=token, accept_url=url)


def join_link(x: JoinLink, now: datetime) -> j.JoinLinkOut:
    maker = (s.Ref(type="api_key", id=x.created_by_api_key_id, name=x.creator_name) if x.created_by_api_key_id
             else s.Ref(type="user", id=x.created_by_user_id, name=x.creator_name))
    return j.JoinLinkOut(id=x.id, team_id=x.team_id, role=x.role,
                         status=joining.link_status(deleted_at=x.deleted_at, expires_at=x.expires_at, uses=x.uses,
                                                    max_uses=x.max_uses, now=now),
                         max_uses=x.max_uses, uses=x.uses, expires_at=x.expires_at,
                         allowed_domains=list(x.allowed_domains or []), requires_approval=x.requires_approval,
                         created_by=maker, created_at=x.created_at, deleted_at=x.deleted_at)


def decider(r: JoinRequest) -> s.Ref | None:
    if r.decided_by_api_key_id:
        return s.Ref(type="api_key", id=r.decided_by_api_key_id, name=r.decider_name)
    if r.decided_by_user_id:
        return s.Ref(type="user", id=r.decided_by_user_id, name=r.decider_name)
    return None


def join_request(r: JoinRequest) -> j.JoinRequestOut:
    return j.JoinRequestOut(id=r.id, team_id=r.team_id, join_link_id=r.join_link_id, user_id=r.user_id,
                            email=r.email, first_name=r.first_name, last_name=r.last_name, role=r.role,
                            status=r.status, created_at=r.created_at, decided_at=r.decided_at, decided_by=decider(r))


def page(items: list, limit: int, convert) -> dict:
    """A page of `limit` items; we fetch one more than asked to know whether another page exists."""
    more = len(items) > limit
    items = items[:limit]
    return {"data": [convert(x) for x in items], "nextCursor": s.encode_cursor(items[-1].id) if more else None}


# --- the hot routes' bodies as plain dicts for encode.Json: the same JSON as the models above
# (by alias), built without validation; times stay datetimes, in UTC, for orjson to write

def _utc(d: datetime | None) -> datetime | None:
    return d if d is None or d.tzinfo is UTC else d.astimezone(UTC)


def invitation_json(i: Invitation, now: datetime) -> dict[str, Any]:
    """As invitation() (InvitationOut): the webhook payload's dict, with datetimes for orjson."""
    return payloads.invitation(i, now, time=_utc)


def issued_json(i: Invitation, now: datetime, token: str, url: str) -> dict[str, Any]:
    """As issued() (InvitationIssued)."""
    return {**invitation_json(i, now), "token": token, "acceptUrl": url}


def preview_json(i: Invitation, team: Team, tasks: list[Task], account_exists: bool | None,
                 status: str) -> dict[str, Any]:
    """An invitation as its token's holder sees it (InvitationPreview)."""
    return {"id": i.id, "email": i.email, "role": i.role, "status": status, "expiresAt": _utc(i.expires_at),
            "team": {"id": team.id, "name": team.name}, "invitedBy": payloads.inviter(i),
            "tasks": [{"id": t.id, "title": t.title, "description": t.description} for t in tasks],
            "accountExists": account_exists}


def user_json(u: User) -> dict[str, Any]:
    """As user() (UserOut)."""
    return {"id": u.id, "externalId": u.external_id, "email": u.email, "firstName": u.first_name,
            "lastName": u.last_name, "isSystemOwner": u.is_system_owner, "emailVerified": u.email_verified,
            "createdAt": _utc(u.created_at)}


def team_json(t: Team) -> dict[str, Any]:
    """As team() (TeamOut)."""
    return {"id": t.id, "name": t.name, "seatLimit": t.seat_limit, "createdAt": _utc(t.created_at)}
