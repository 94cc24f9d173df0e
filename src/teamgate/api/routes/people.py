"""Who is who, for a product that signs its own people in (DESIGN 12): a person by the id the
product knows them by, with their teams, roles and permissions. Server keys only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.http.deps import Db, Rt, ServerKeyCaller, called
from teamgate.services import server_keys

router = APIRouter(tags=["people"])


@router.get("/users/by-external-id/{external_id}", response_model=s.PersonOut)
async def person_by_external_id(external_id: Annotated[str, Path(description="The person's id in the product.")],
                                 request: Request, actor: ServerKeyCaller, db: Db, rt: Rt):
    """The account with this externalId and every team it is in (404 `not_found` when none has it,
    or when it cannot be an externalId, as for any id)."""
    found = await server_keys.person(db, rt, actor, external_id, use=called(request))
    return present.person(found.user, found.memberships)
