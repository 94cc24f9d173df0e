"""Team invitations for the team's admins: list, create (one or many), read, cancel, resend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Body, Query, Request
from pydantic import ValidationError

from teamgate.api import bulk_schemas as b
from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.api.encode import Json
from teamgate.api.routes.common import Pages
from teamgate.domain.bulk import RowOutcome
from teamgate.domain.delivery import DeliveryStatus
from teamgate.domain.invitation import PENDING, InvitationStatus
from teamgate.http.deps import Db, Rt, Team
from teamgate.http.errors import domain_problem, invalid_input
from teamgate.http.idempotency import Idempotent, IdempotentRoute
from teamgate.services import bulk_invitations as bulk
from teamgate.services import invitations

router = APIRouter(prefix="/team-invitations", tags=["invitations"], route_class=IdempotentRoute)

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
async def create_invitation(body: s.InvitationCreate, ctx: Team, db: Db, rt: Rt, _key: Idempotent):
    issued = await invitations.create(db, rt, ctx, email=body.email, role=body.role, task_ids=body.task_ids,
                                      redirect_url=body.redirect_url,
                                      expires_in_days=body.expires_in_days, send_email=body.send_email)
    return Json(present.issued_json(issued.invitation, rt.clock.now(), issued.token,
                                    rt.settings.invite_url(issued.token)), status_code=201)


@router.post("/bulk", response_model=b.BulkResult)
async def create_invitations(body: b.BulkCreate, request: Request, ctx: Team, db: Db, rt: Rt, key: Idempotent):
    """Up to 500 invitations, each row answered as a single create would answer it (DESIGN 14).
    With `dryRun` nothing is written; with `atomic` all rows are created or none."""
    batch = await bulk.create_many(db, rt, ctx, [_row(raw) for raw in body.invitations], send_email=body.send_email,
                                   dry_run=body.dry_run, atomic=body.atomic)
    if key is not None and batch.wrote_nothing:  # nothing to repeat: the same request may be worked out afresh
        key.keep_nothing()
    now = rt.clock.now()
    return b.BulkResult(results=[b.BulkRowResult(
        index=r.index, email=r.email, outcome=r.outcome,
        invitation=present.issued(r.issued.invitation, now, r.issued.token, rt.settings.invite_url(r.issued.token))
        if r.issued else None,
        error=domain_problem(request, r.error) if r.error else None) for r in batch.results],
        summary=b.BulkSummary(created=batch.count(RowOutcome.CREATED),
                              would_create=batch.count(RowOutcome.WOULD_CREATE),
                              errors=batch.count(RowOutcome.ERROR), seats_used_after=batch.seats_used,
                              seat_limit=batch.seat_limit, dry_run=batch.dry_run, atomic=batch.atomic,
                              rolled_back=batch.rolled_back))


def _row(raw: object) -> bulk.Row:
    """A row read with the single create's fields; one that does not fit carries their refusal."""
    try:
        fields = s.InvitationFields.model_validate(raw)
    except ValidationError as exc:
        email = raw.get("email") if isinstance(raw, dict) else None
        return bulk.Row(email=email[:320] if isinstance(email, str) else "", role="",
                        refused=invalid_input(exc.errors()))
    return bulk.Row(email=fields.email, role=fields.role, task_ids=fields.task_ids,
                    expires_in_days=fields.expires_in_days)


@router.get("/{invitation_id}", response_model=s.InvitationOut)
async def get_invitation(invitation_id: str, ctx: Team, db: Db, rt: Rt):
    return present.invitation(await invitations.get(db, ctx, invitation_id), rt.clock.now())


@router.delete("/{invitation_id}", response_model=s.InvitationOut)
async def cancel_invitation(invitation_id: str, ctx: Team, db: Db, rt: Rt):
    return present.invitation(await invitations.cancel(db, rt, ctx, invitation_id), rt.clock.now())


@router.post("/{invitation_id}/resend", response_model=s.InvitationIssued)
async def resend_invitation(invitation_id: str, ctx: Team, db: Db, rt: Rt, _key: Idempotent,
                            body: Annotated[s.ResendIn | None, Body()] = None):
    body = body or s.ResendIn()
    issued = await invitations.resend(db, rt, ctx, invitation_id, expires_in_days=body.expires_in_days,
                                      send_email=body.send_email)
    return present.issued(issued.invitation, rt.clock.now(), issued.token, rt.settings.invite_url(issued.token))
