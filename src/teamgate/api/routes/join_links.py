"""Join links (DESIGN 14): the team's admins make, list and delete them; anyone holding one sees
what it offers and uses it. A link's token leaves only in the answer to create."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from teamgate import errors
from teamgate.api import join_schemas as j
from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.api.openapi import JOIN_LINK_GONE
from teamgate.api.routes.common import Pages
from teamgate.domain.joining import Outcome
from teamgate.http.cookies import set_session_cookie
from teamgate.http.deps import Authenticated, Db, Rt, Team, client_ip, token_use_limit
from teamgate.http.idempotency import Idempotent, IdempotentRoute
from teamgate.services import accounts, join_links, joining

router = APIRouter(prefix="/join-links", tags=["join links"], responses=JOIN_LINK_GONE, route_class=IdempotentRoute)
# public, by the link's token: no caller to keep an Idempotency-Key for (a repeated use is
# answered by the link's own rules: already a member, or already waiting)
public = APIRouter(prefix="/join-links", tags=["join links"], responses=JOIN_LINK_GONE,
                   dependencies=[Depends(token_use_limit)])


@router.get("", response_model=s.Page[j.JoinLinkOut])
async def list_join_links(ctx: Team, db: Db, rt: Rt, paging: Pages):
    """The team's links that were not deleted: active, expired and used-up ones, newest first."""
    found = await join_links.page(db, ctx, limit=paging.limit + 1, after_id=paging.after_id)
    now = rt.clock.now()
    return present.page(found, paging.limit, lambda x: present.join_link(x, now))


@router.post("", response_model=j.JoinLinkIssued, status_code=201)
async def create_join_link(body: j.JoinLinkCreate, ctx: Team, db: Db, rt: Rt, _key: Idempotent):
    """`url` (and `token`) are shown only in this answer; teamgate keeps only the token's hash."""
    issued = await join_links.create(db, rt, ctx, role=body.role, max_uses=body.max_uses,
                                     expires_in_days=body.expires_in_days, allowed_domains=body.allowed_domains,
                                     requires_approval=body.requires_approval)
    shown = present.join_link(issued.link, rt.clock.now())
    return j.JoinLinkIssued(**shown.model_dump(), token=issued.token, url=join_links.url(rt, issued.token))


@router.delete("/{link_id}", response_model=j.JoinLinkOut)
async def delete_join_link(link_id: str, ctx: Team, db: Db, rt: Rt):
    """The link stops working at once; returns it (status `deleted`)."""
    return present.join_link(await join_links.delete(db, rt, ctx, link_id), rt.clock.now())


@public.get("/validate/{token}", response_model=j.JoinLinkPreview)
async def validate_join_link(token: Annotated[str, Path(max_length=128)], auth: Authenticated, db: Db, rt: Rt):
    """What a live link offers (public; changes nothing)."""
    found = await joining.describe(db, rt, token, signed_in=auth.signed_in_user)
    link = found.link
    return j.JoinLinkPreview(team=s.TeamBrief(id=found.team.id, name=found.team.name), role=link.role,
                             expires_at=link.expires_at, created_by=link.creator_name,
                             allowed_domains=list(link.allowed_domains or []),
                             requires_approval=link.requires_approval)


@public.post("/accept", response_model=j.JoinOut, responses={202: {"model": j.JoinOut,
                                                                   "description": "Waiting: see `outcome`."}})
async def use_join_link(body: j.JoinIn, request: Request, response: Response, auth: Authenticated, db: Db, rt: Rt):
    """A new person sends an address, a password and names (the account starts unverified, and is
    signed in); a signed-in person sends only the token (with X-CSRF-Token). 200 when the person
    joined; 202 when they wait for their address to be verified or for approval."""
    entered = await joining.use_and_enter(
        db, rt, token=body.token, session=auth.session, signed_in=auth.signed_in_user, email=body.email,
        password=body.password, first_name=body.first_name, last_name=body.last_name, ip=client_ip(request),
        user_agent=request.headers.get("user-agent"))
    used, token = entered.used, auth.session_token
    if entered.started is not None:
        token = entered.started.token
        set_session_cookie(response, rt, token)
    if token is None:  # unreachable: a signed-in use kept the session the caller presented
        raise errors.Unauthenticated("Sign in again.")
    if used.outcome is not Outcome.JOINED:
        response.status_code = 202
    return j.JoinOut(outcome=used.outcome.value, user=present.user(used.user), team=present.team(used.team),
                     role=used.role, join_request=present.join_request(used.request) if used.request else None,
                     account_created=used.account_created, csrf_token=accounts.csrf_token(rt, token))
