"""Team invitations for the team's admins: list, create, read, cancel, resend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Body, Query

from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.api.encode import Json
from teamgate.api.routes.common import Pages
from teamgate.domain.delivery import DeliveryStatus
from teamgate.domain.invitation import PENDING, InvitationStatus
from teamgate.http.deps import Db, Rt, Team
from teamgate.services import invitations

router = APIRouter(prefix="/team-invitations", tags=["invitations"])

# built from the domain's statuses (the same strings, so the OpenAPI document lists the same enums)
if TYPE_CHECKING:  # a type checker cannot evaluate a Literal built from the enums; FastAPI can
    StatusFilter = str
    DeliveryFilter = str
else:
    StatusFilter = Literal[(*(s.value for s in InvitationStatus), "all")]
    DeliveryFilter = Literal[tuple(s.value for s in DeliveryStatus)]


@router.get("", response_model=s.Page[s.InvitationOut])
async def list_invitations(ctx: Team, db: Db, rt: Rt, paging: Pages,
                           status: Annotated[StatusFilter, Query()] = PENDING.value,
                           delivery: Annotated[DeliveryFilter | None, Query()] = None):
    """`?delivery=failed` finds the invitations whose email could not be delivered (resend them)."""
    found = await invitations.page(db, rt, ctx, status=status, limit=paging.limit + 1, after_id=paging.after_id,
                                   delivery=delivery)
    now = rt.clock.now()
    return Json(present.page(found, paging.limit, lambda i: present.invitation_json(i, now)))


@router.post("", response_model=s.InvitationIssued, status_code=201)
async def create_invitation(body: s.InvitationCreate, ctx: Team, db: Db, rt: Rt):
    issued = await invitations.create(db, rt, ctx, email=body.email, role=body.role, task_ids=body.task_ids,
                                      expires_in_days=body.expires_in_days, send_email=body.send_email)
    return Json(present.issued_json(issued.invitation, rt.clock.now(), issued.token,
                                    rt.settings.invite_url(issued.token)), status_code=201)


@router.get("/{invitation_id}", response_model=s.InvitationOut)
async def get_invitation(invitation_id: str, ctx: Team, db: Db, rt: Rt):
    return present.invitation(await invitations.get(db, ctx, invitation_id), rt.clock.now())


@router.delete("/{invitation_id}", response_model=s.InvitationOut)
async def cancel_invitation(invitation_id: str, ctx: Team, db: Db, rt: Rt):
    return present.invitation(await invitations.cancel(db, rt, ctx, invitation_id), rt.clock.now())


@router.post("/{invitation_id}/resend", response_model=s.InvitationIssued)
async def resend_invitation(invitation_id: str, ctx: Team, db: Db, rt: Rt,
                            body: Annotated[s.ResendIn | None, Body()] = None):
    body = body or s.ResendIn()
    issued = await invitations.resend(db, rt, ctx, invitation_id, expires_in_days=body.expires_in_days,
                                      send_email=body.send_email)
    return present.issued(issued.invitation, rt.clock.now(), issued.token, rt.settings.invite_url(issued.token))
