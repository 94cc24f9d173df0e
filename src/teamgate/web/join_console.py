"""`/console/join-links` and `/console/join-requests`: the current team's join links (make one,
see its uses, delete it) and the queue of people waiting to be let in (approve, deny). For those
who manage invitations; the same services as the API. A new link is shown once, right there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request

from teamgate import errors
from teamgate.domain import joining as rules
from teamgate.domain.roles import may_grant
from teamgate.http.deps import Db, after_refusal, runtime
from teamgate.http.errors import status_for
from teamgate.http.forms import form_token, posted_by, viewer
from teamgate.services import join_links, join_requests, teams
from teamgate.web.auth import login_link
from teamgate.web.common import page, redirect

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
LINKS, REQUESTS = "/console/join-links", "/console/join-requests"
SHOWN = (rules.RequestStatus.PENDING, rules.RequestStatus.UNVERIFIED, rules.RequestStatus.APPROVED,
         rules.RequestStatus.DENIED, "all")


async def _context(request: Request, db, who):
    """The signed-in person in their current team (NotFound when there is none)."""
    mine = await teams.mine(db, who.user)
    team_id = who.session.active_team_id or (mine[0][0].id if mine else "")
    return await teams.context_for(db, runtime(request), who.actor(request), team_id)


async def _links_page(request: Request, db, who, *, notice: str | None = None, error: str | None = None,
                      issued=None, status: int = 200):
    rt = runtime(request)
    ctx = await _context(request, db, who)
    return page(request, "console_join_links.html", status=status, viewer=who, csrf=form_token(request, who), ctx=ctx,
                team=await teams.current(db, ctx), links=await join_links.page(db, ctx, limit=100, after_id=None),
                status_of=join_links.status, now=rt.clock.now(), notice=notice, error=error, issued=issued,
                issued_url=join_links.url(rt, issued.token) if issued else None,
                grantable=[r for r in rt.catalog.roles.values() if may_grant(ctx.role, r)])


async def _requests_page(request: Request, db, who, *, show: str = rules.RequestStatus.PENDING,
                         notice: str | None = None, error: str | None = None, status: int = 200):
    ctx = await _context(request, db, who)
    return page(request, "console_join_requests.html", status=status, viewer=who, csrf=form_token(request, who),
                ctx=ctx, team=await teams.current(db, ctx), show=show, shown=SHOWN,
                requests=await join_requests.page(db, ctx, status=show, limit=100, after_id=None),
                notice=notice, error=error)


@router.get(LINKS)
async def links(request: Request, db: Db):
    who = await viewer(db, request)
    if not who.signed_in:
        return redirect(login_link(LINKS))
    return await _links_page(request, db, who)


@router.get(REQUESTS)
async def queue(request: Request, db: Db, show: Annotated[str, Query(max_length=16)] = rules.RequestStatus.PENDING):
    who = await viewer(db, request)
    if not who.signed_in:
        return redirect(login_link(REQUESTS))
    return await _requests_page(request, db, who, show=show if show in SHOWN else rules.RequestStatus.PENDING)


async def _act(request: Request, db: Db, csrf: str, action, done: str, *, back):
    """Run one action in the request's transaction; show the page again with its outcome."""
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    if not who.signed_in:
        return redirect(login_link(LINKS))
    try:
        result = await action(db, rt, await _context(request, db, who))
        await db.flush()  # the page below reads what the action wrote
    except errors.TeamgateError as exc:
        async with after_refusal(request, db) as again:  # a second transaction: the refused action is gone
            return await back(request, again, await viewer(again, request), error=exc.detail,
                              status=status_for(exc.code))
    if back is _links_page:
        return await back(request, db, who, notice=done, issued=result if hasattr(result, "token") else None)
    return await back(request, db, who, notice=done)


@router.post(LINKS)
async def create(request: Request, db: Db, csrf: Csrf, role: Annotated[str, Form(max_length=64)],
                 max_uses: Annotated[str, Form(max_length=8)] = "",
                 expires_in_days: Annotated[str, Form(max_length=4)] = "",
                 allowed_domains: Annotated[str, Form(max_length=2000)] = "",
                 requires_approval: Annotated[bool, Form()] = False):
    async def action(db, rt, ctx):
        try:
            uses = int(max_uses) if max_uses.strip() else None
            days = int(expires_in_days) if expires_in_days.strip() else None
        except ValueError:
            raise errors.ValidationFailed("maxUses", "write whole numbers for the uses and the days") from None
        domains = [d for d in allowed_domains.replace(",", " ").split() if d]
        return await join_links.create(db, rt, ctx, role=role, max_uses=uses, expires_in_days=days,
                                       allowed_domains=domains, requires_approval=requires_approval)

    return await _act(request, db, csrf, action, "Join link made.", back=_links_page)


@router.post(LINKS + "/{link_id}/delete")
async def delete(request: Request, db: Db, link_id: str, csrf: Csrf):
    return await _act(request, db, csrf, lambda db, rt, ctx: join_links.delete(db, rt, ctx, link_id),
                      "Join link deleted; it no longer works.", back=_links_page)


@router.post(REQUESTS + "/{request_id}/approve")
async def approve(request: Request, db: Db, request_id: str, csrf: Csrf):
    return await _act(request, db, csrf, lambda db, rt, ctx: join_requests.approve(db, rt, ctx, request_id),
                      "Approved: they are a member now.", back=_requests_page)


@router.post(REQUESTS + "/{request_id}/deny")
async def deny(request: Request, db: Db, request_id: str, csrf: Csrf):
    return await _act(request, db, csrf, lambda db, rt, ctx: join_requests.deny(db, rt, ctx, request_id),
                      "Denied.", back=_requests_page)
