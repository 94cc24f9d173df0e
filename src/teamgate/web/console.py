"""`/console`: the current team for the people who run it: members, invitations, tasks.

Forms post to small actions that use the same services as the API, then show the console
again; a new link (create or resend) is shown once, right there, for copying."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request

from teamgate import errors
from teamgate.domain import invitation as rules
from teamgate.domain.roles import WEBHOOKS_MANAGE, may_grant
from teamgate.http.deps import Db, after_refusal, runtime
from teamgate.http.errors import status_for
from teamgate.http.forms import form_token, posted_by, viewer
from teamgate.services import invitations, tasks, teams
from teamgate.web.auth import login_link
from teamgate.web.common import page, redirect

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
# the console's tabs, in their order
SHOWN = (rules.PENDING, rules.EXPIRED, rules.ACCEPTED, rules.DECLINED, rules.REVOKED, "all")


async def _console(request: Request, db, who, *, show: str = rules.PENDING, notice: str | None = None,
                   error: str | None = None, issued=None, status: int = 200):
    rt = runtime(request)
    mine = await teams.mine(db, who.user)
    team_id = who.session.active_team_id or (mine[0][0].id if mine else None)
    if team_id is None:
        return page(request, "console_empty.html", viewer=who, csrf=form_token(request, who), status=status)
    ctx = await teams.context_for(db, rt, who.actor(request), team_id)
    manage = ctx.can("invitations:manage")
    found_tasks = await tasks.page(db, ctx, limit=200, after_id=None)
    assigned = await tasks.assignees(db, ctx, found_tasks)
    return page(
        request, "console.html", status=status, viewer=who, csrf=form_token(request, who), ctx=ctx,
        team=await teams.current(db, ctx), my_teams=mine, members=await teams.members(db, ctx), manage=manage,
        invitations=await invitations.page(db, rt, ctx, status=show, limit=100, after_id=None) if manage else [],
        may_manage_webhooks=ctx.can(WEBHOOKS_MANAGE),
        show=show, shown=SHOWN, now=rt.clock.now(), effective_status=rules.effective_status,
        open_statuses=rules.OPEN, tasks=found_tasks, assigned=assigned, notice=notice,
        error=error, issued=issued, issued_url=rt.settings.invite_url(issued.token) if issued else None,
        grantable=[r for r in rt.catalog.roles.values() if may_grant(ctx.role, r)])


@router.get("/console")
async def console(request: Request, db: Db, show: Annotated[str, Query(max_length=16)] = rules.PENDING,
                  joined: Annotated[str | None, Query(max_length=40)] = None):
    who = await viewer(db, request)
    if not who.signed_in:
        return redirect(login_link("/console"))
    notice = "Welcome! You are now a member of this team." if joined else None
    return await _console(request, db, who, show=show if show in SHOWN else rules.PENDING, notice=notice)


async def _act(request: Request, db: Db, csrf: str, action, done: str):
    """Run one console action in the request's transaction; show the console with its outcome."""
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    if not who.signed_in:
        return redirect(login_link("/console"))
    try:
        ctx = await teams.context_for(db, rt, who.actor(request), who.session.active_team_id or "")
        issued = await action(db, rt, ctx)
        await db.flush()  # the console below reads what the action wrote (the session does not autoflush)
    except errors.TeamgateError as exc:
        # a second transaction: the refused action is rolled back, and the console shown again with why
        async with after_refusal(request, db) as again:
            return await _console(request, again, await viewer(again, request), error=exc.detail,
                                  status=status_for(exc.code))
    return await _console(request, db, who, notice=done, issued=issued if hasattr(issued, "token") else None)


@router.post("/console/invitations")
async def invite(request: Request, db: Db, csrf: Csrf, email: Annotated[str, Form(max_length=320)],
                 role: Annotated[str, Form(max_length=64)],
                 task_ids: Annotated[list[str], Form(max_length=100)] = [],  # noqa: B006 (FastAPI copies defaults)
                 no_email: Annotated[bool, Form()] = False):
    async def action(db, rt, ctx):
        return await invitations.create(db, rt, ctx, email=email, role=role, task_ids=task_ids,
                                        send_email=not no_email)

    done = f"Invited {email}." + ("" if no_email else " The email is on its way.")
    return await _act(request, db, csrf, action, done)


@router.post("/console/invitations/{invitation_id}/cancel")
async def cancel(request: Request, db: Db, invitation_id: str, csrf: Csrf):
    return await _act(request, db, csrf, lambda db, rt, ctx: invitations.cancel(db, rt, ctx, invitation_id),
                      "Invitation cancelled; its link no longer works.")


@router.post("/console/invitations/{invitation_id}/resend")
async def resend(request: Request, db: Db, invitation_id: str, csrf: Csrf):
    return await _act(request, db, csrf, lambda db, rt, ctx: invitations.resend(db, rt, ctx, invitation_id),
                      "Invitation sent again with a new link; the old link no longer works.")


@router.post("/console/team")
async def switch_team(request: Request, db: Db, csrf: Csrf, team_id: Annotated[str, Form(max_length=40)]):
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    if not who.signed_in:
        return redirect(login_link("/console"))
    await teams.context_for(db, rt, who.actor(request), team_id)  # NotFound unless they may act there
    who.session.active_team_id = team_id
    return redirect("/console")
