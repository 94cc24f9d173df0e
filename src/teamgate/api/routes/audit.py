"""The audit trail, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.api.routes.common import Pages
from teamgate.http.deps import Db, Team
from teamgate.services import audit

router = APIRouter(tags=["audit"])


@router.get("/audit-events", response_model=s.Page[s.AuditEventOut])
async def list_events(ctx: Team, db: Db, paging: Pages,
                      action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_.]+$")] = None):
    found = await audit.page(db, ctx, limit=paging.limit + 1, after_id=paging.after_id, action=action)
    return present.page(found, paging.limit, present.audit_event)
