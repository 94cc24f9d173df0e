"""The join-request queue (DESIGN 14): people who used a join link that asks for approval (or
whose address still waits to be verified), and the approve and deny decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Query

from teamgate.api import join_schemas as j
from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.api.routes.common import Pages
from teamgate.domain.joining import RequestStatus
from teamgate.http.deps import Db, Rt, Team
from teamgate.http.idempotency import Idempotent, IdempotentRoute
from teamgate.services import join_requests

router = APIRouter(prefix="/join-requests", tags=["join links"], route_class=IdempotentRoute)

if TYPE_CHECKING:  # as in routes/invitations.py: a Literal built from the enum, for FastAPI
    StatusFilter = str
else:
    StatusFilter = Literal[(*(x.value for x in RequestStatus), "all")]


@router.get("", response_model=s.Page[j.JoinRequestOut])
async def list_join_requests(ctx: Team, db: Db, paging: Pages,
                             status: Annotated[StatusFilter, Query()] = RequestStatus.PENDING.value):
    """`pending` (default) is the queue; `unverified` are waiting for their address to be verified."""
    found = await join_requests.page(db, ctx, status=status, limit=paging.limit + 1, after_id=paging.after_id)
    return present.page(found, paging.limit, present.join_request)


@router.post("/{request_id}/approve", response_model=j.JoinRequestOut)
async def approve_join_request(request_id: str, ctx: Team, db: Db, rt: Rt, _key: Idempotent):
    """The person becomes a member with the link's role (which the approver must be able to grant)."""
    return present.join_request((await join_requests.approve(db, rt, ctx, request_id)).request)


@router.post("/{request_id}/deny", response_model=j.JoinRequestOut)
async def deny_join_request(request_id: str, ctx: Team, db: Db, rt: Rt, _key: Idempotent):
    return present.join_request(await join_requests.deny(db, rt, ctx, request_id))
