"""`/console/bulk`: invite many at once. A pasted list or a CSV file (email, role, tasks by title
or id) is tried first as a dry run, shown as a table of what would happen to each row; then the
same list is sent again to create. Both steps use the bulk service the API uses (DESIGN 14)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile

from teamgate import errors
from teamgate.domain import bulk as lists
from teamgate.domain.roles import may_grant
from teamgate.http.deps import Db, after_refusal, runtime
from teamgate.http.errors import status_for
from teamgate.http.forms import Viewer, form_token, posted_by, viewer
from teamgate.services import bulk_invitations as bulk
from teamgate.services import teams
from teamgate.services.context import TeamContext
from teamgate.web.auth import login_link
from teamgate.web.common import page, redirect

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
ListText = Annotated[str, Form(max_length=1_000_000)]  # the request body limit bounds it first
Role = Annotated[str, Form(max_length=64)]
NoEmail = Annotated[bool, Form()]
EXAMPLE = "ada@example.com, admin\ngrace@example.com, member, Write the onboarding guide; Review the budget"


async def _context(request: Request, db, who: Viewer) -> TeamContext:
    """The signed-in person in their current team (NotFound when they have none they may act in)."""
    return await teams.context_for(db, runtime(request), who.actor(request), who.session.active_team_id or "")


async def _page(request: Request, db, who: Viewer, *, status: int = 200, **shown):
    ctx = await _context(request, db, who)
    rt = runtime(request)
    grantable = [r for r in rt.catalog.roles.values() if may_grant(ctx.role, r)]
    shown.setdefault("role", grantable[-1].name if grantable else "")
    return page(request, "bulk.html", status=status, viewer=who, csrf=form_token(request, who), ctx=ctx,
                team=await teams.current(db, ctx), manage=ctx.can("invitations:manage"), grantable=grantable,
                example=EXAMPLE, max_rows=lists.MAX_ROWS, invite_url=rt.settings.invite_url, **shown)


@router.get("/console/bulk")
async def form(request: Request, db: Db):
    who = await viewer(db, request)
    if not who.signed_in:
        return redirect(login_link("/console/bulk"))
    if not who.session.active_team_id:
        return redirect("/console")
    return await _page(request, db, who)


async def _run(request: Request, db: Db, csrf: str, text: str, role: str, no_email: bool, *, dry_run: bool,
               unreadable: str | None = None):
    who = await posted_by(db, request, csrf)
    if not who.signed_in:
        return redirect(login_link("/console/bulk"))
    listed = lists.read_list(text)
    try:
        if unreadable is not None or not listed:
            raise errors.ValidationFailed("list", unreadable or "Paste at least one email address, or choose a CSV "
                                                                "file.")
        ctx = await _context(request, db, who)
        rows = await bulk.rows_from_list(db, ctx, listed, default_role=role)
        batch = await bulk.create_many(db, runtime(request), ctx, rows, send_email=not no_email, dry_run=dry_run)
        await db.flush()  # the page below reads what was written (the session does not autoflush)
    except errors.TeamgateError as exc:  # the whole list was refused: the form again, with why
        async with after_refusal(request, db) as again:
            return await _page(request, again, await viewer(again, request), status=status_for(exc.code),
                               error=exc.detail, text=text, role=role, no_email=no_email)
    # the create step gets the list as read (a chosen file's too); the text box keeps what was typed
    return await _page(request, db, who, batch=batch, rows=listed, carried=lists.write_list(listed), text=text,
                       role=role, no_email=no_email)


@router.post("/console/bulk/preview")
async def preview(request: Request, db: Db, csrf: Csrf, role: Role, text: ListText = "",
                  file: Annotated[UploadFile | None, File()] = None, no_email: NoEmail = False):
    """The dry run. A chosen CSV file wins over the text box."""
    unreadable = None
    if file is not None and file.filename:
        try:
            text = (await file.read()).decode("utf-8-sig")
        except UnicodeDecodeError:
            text, unreadable = "", "The file is not UTF-8 text; save it from your spreadsheet as CSV (UTF-8)."
    return await _run(request, db, csrf, text, role, no_email, dry_run=True, unreadable=unreadable)


@router.post("/console/bulk/create")
async def create(request: Request, db: Db, csrf: Csrf, role: Role, text: ListText, no_email: NoEmail = False):
    return await _run(request, db, csrf, text, role, no_email, dry_run=False)
