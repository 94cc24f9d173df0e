"""`/console/webhooks`: the current team's webhook endpoints and their deliveries (DESIGN 11), for
people with `webhooks:manage`.

Like the console, forms post to small actions that call the same services as the API, then show
the page again with the outcome; a new secret (add, rotate) is shown once, right there. A
receiver's answer is only ever shown as escaped text: it is whatever a stranger's server said."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain import delivery
from teamgate.domain import webhooks as rules
from teamgate.domain.ids import is_id
from teamgate.domain.text import text_problem
from teamgate.http.deps import Db, after_refusal, runtime
from teamgate.http.errors import status_for
from teamgate.http.forms import Viewer, form_token, posted_by, viewer
from teamgate.runtime import Runtime
from teamgate.services import teams, webhooks
from teamgate.services.context import TeamContext
from teamgate.web.auth import login_link
from teamgate.web.common import page, redirect

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
HOME = "/console/webhooks"
ENDPOINTS_SHOWN = 100
DELIVERIES_SHOWN = 50
# what the add form offers; the test event reaches every endpoint whatever it lists
CHOOSABLE = sorted(rules.EVENT_TYPES - {rules.TEST_EVENT})
LABELS = {"url": "URL", "events": "Events", "description": "Description"}
Shown = dict[str, Any]  # what a page shows of an action's outcome: notice, issued


def _said(exc: errors.TeamgateError) -> str:
    """A refusal in words for the page: a field's problem names the field."""
    if isinstance(exc, errors.ValidationFailed) and exc.errors:
        return f"{LABELS.get(exc.errors[0]['field'], 'The form')}: {exc.detail}."
    return exc.detail


async def _context(request: Request, db: AsyncSession, who: Viewer) -> TeamContext | None:
    """The team the person is looking at in the console (as /console picks it), or None: no team."""
    mine = await teams.mine(db, who.user)
    team_id = who.session.active_team_id or (mine[0][0].id if mine else None)
    return await teams.context_for(db, runtime(request), who.actor(request), team_id) if team_id else None


def _draw(request: Request, who: Viewer, ctx: TeamContext, name: str, *, status: int, **context) -> Response:
    rt = runtime(request)
    return page(request, name, status=status, viewer=who, csrf=form_token(request, who), ctx=ctx,
                now=rt.clock.now(), state_of=rules.endpoint_state, States=rules.EndpointState,
                shown_status=rules.delivery_status, next_attempt=rules.next_attempt,
                previous_live=rules.previous_secret_live, may_retry=delivery.may_retry,
                disable_after_days=rules.DISABLE_AFTER.days, **context)


async def _list(request: Request, db: AsyncSession, who: Viewer, *, notice: str | None = None,
                error: str | None = None, issued: webhooks.WithSecret | None = None, form: dict | None = None,
                status: int = 200) -> Response:
    ctx = await _context(request, db, who)
    if ctx is None:
        return page(request, "console_empty.html", viewer=who, csrf=form_token(request, who), status=status)
    endpoints = await webhooks.page(db, ctx, limit=ENDPOINTS_SHOWN, after_id=None)  # Forbidden without the right
    return _draw(request, who, ctx, "webhooks.html", status=status, team=await teams.current(db, ctx),
                 endpoints=endpoints, choosable=CHOOSABLE, notice=notice, error=error, issued=issued,
                 form=form or {"scope": "all", "events": []})


async def _endpoint(request: Request, db: AsyncSession, who: Viewer, endpoint_id: str, *,
                    before: str | None = None, notice: str | None = None, error: str | None = None,
                    issued: webhooks.WithSecret | None = None, status: int = 200) -> Response:
    ctx = await _context(request, db, who)
    if ctx is None:
        raise errors.NotFound("No such webhook endpoint in this team.")
    endpoint = await webhooks.get(db, ctx, endpoint_id)  # NotFound for another team's, Forbidden without the right
    found = await webhooks.deliveries(db, ctx, endpoint.id, limit=DELIVERIES_SHOWN + 1, after_id=before)
    return _draw(request, who, ctx, "webhook.html", status=status, team=await teams.current(db, ctx),
                 endpoint=endpoint, deliveries=found[:DELIVERIES_SHOWN],
                 older=found[DELIVERIES_SHOWN - 1].id if len(found) > DELIVERIES_SHOWN else None,
                 before=before, notice=notice, error=error, issued=issued)


Action = Callable[[AsyncSession, Runtime, TeamContext], Awaitable[Shown]]
Draw = Callable[..., Awaitable[Response]]


async def _act(request: Request, db: AsyncSession, csrf: str, action: Action, draw: Draw) -> Response:
    """Run one action in the request's transaction, then `draw(db, who, **shown)` the page. A
    refused action is rolled back and the page drawn again with why; when the page itself is
    refused (no `webhooks:manage`, another team's endpoint) its refusal is the answer."""
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    if not who.signed_in:
        return redirect(login_link(HOME))
    try:
        ctx = await _context(request, db, who)
        if ctx is None:
            raise errors.NotFound("No such team.")
        shown = await action(db, rt, ctx)
        await db.flush()  # the page below reads what the action wrote (the session does not autoflush)
    except errors.TeamgateError as exc:
        async with after_refusal(request, db) as again:
            return await draw(again, await viewer(again, request), error=_said(exc), status=status_for(exc.code))
    return await draw(db, who, **shown)


@router.get(HOME)
async def endpoints(request: Request, db: Db):
    who = await viewer(db, request)
    if not who.signed_in:
        return redirect(login_link(HOME))
    return await _list(request, db, who)


@router.post(HOME)
async def add(request: Request, db: Db, csrf: Csrf, url: Annotated[str, Form(max_length=rules.URL_MAX)],
              description: Annotated[str, Form(max_length=500)] = "",
              scope: Annotated[str, Form(max_length=8)] = "all",
              events: Annotated[list[str], Form(max_length=50)] = []):  # noqa: B006 (FastAPI copies defaults)
    typed = {"url": url, "description": description, "scope": scope, "events": events}

    async def action(db, rt, ctx) -> Shown:
        if problem := text_problem(description, multiline=True):
            raise errors.ValidationFailed("description", problem)
        if scope != "all" and not events:
            raise errors.ValidationFailed("events", "choose at least one, or all events")
        issued = await webhooks.create(db, rt, ctx, url=url, events=[] if scope == "all" else events,
                                       description=description)
        return {"issued": issued, "notice": "Endpoint added. Copy its signing secret now: it is not shown again."}

    async def draw(db, who, **shown):
        return await _list(request, db, who, form=typed if "error" in shown else None, **shown)

    return await _act(request, db, csrf, action, draw)


@router.get(HOME + "/{endpoint_id}")
async def endpoint(request: Request, db: Db, endpoint_id: str,
                   before: Annotated[str | None, Query(max_length=40)] = None):
    who = await viewer(db, request)
    if not who.signed_in:
        return redirect(login_link(f"{HOME}/{endpoint_id}"))
    return await _endpoint(request, db, who, endpoint_id, before=before if before and is_id(before) else None)


def _on_endpoint(request: Request, endpoint_id: str) -> Draw:
    async def draw(db, who, **shown):
        return await _endpoint(request, db, who, endpoint_id, **shown)

    return draw


@router.post(HOME + "/{endpoint_id}/test")
async def send_test(request: Request, db: Db, endpoint_id: str, csrf: Csrf):
    async def action(db, rt, ctx) -> Shown:
        await webhooks.send_test(db, rt, ctx, endpoint_id)
        return {"notice": "A webhook.test event is on its way; its delivery is listed below."}

    return await _act(request, db, csrf, action, _on_endpoint(request, endpoint_id))


@router.post(HOME + "/{endpoint_id}/rotate-secret")
async def rotate_secret(request: Request, db: Db, endpoint_id: str, csrf: Csrf):
    async def action(db, rt, ctx) -> Shown:
        issued = await webhooks.rotate_secret(db, rt, ctx, endpoint_id)
        hours = int(rules.SECRET_OVERLAP.total_seconds() // 3600)
        return {"issued": issued, "notice": f"New signing secret made. The previous one keeps signing beside it "
                                            f"for {hours} hours; copy the new one now: it is not shown again."}

    return await _act(request, db, csrf, action, _on_endpoint(request, endpoint_id))


@router.post(HOME + "/{endpoint_id}/enable")
async def enable(request: Request, db: Db, endpoint_id: str, csrf: Csrf):
    async def action(db, rt, ctx) -> Shown:
        await webhooks.update(db, rt, ctx, endpoint_id, enabled=True)
        return {"notice": "Endpoint enabled: new events are sent to it. Retry the failed deliveries you need."}

    return await _act(request, db, csrf, action, _on_endpoint(request, endpoint_id))


@router.post(HOME + "/{endpoint_id}/disable")
async def disable(request: Request, db: Db, endpoint_id: str, csrf: Csrf):
    async def action(db, rt, ctx) -> Shown:
        await webhooks.update(db, rt, ctx, endpoint_id, enabled=False)
        return {"notice": "Endpoint disabled: nothing is sent to it until it is enabled again."}

    return await _act(request, db, csrf, action, _on_endpoint(request, endpoint_id))


@router.post(HOME + "/{endpoint_id}/deliveries/{delivery_id}/retry")
async def retry(request: Request, db: Db, endpoint_id: str, delivery_id: str, csrf: Csrf):
    async def action(db, rt, ctx) -> Shown:
        await webhooks.retry_delivery(db, rt, ctx, endpoint_id, delivery_id)
        return {"notice": "The delivery is queued again, with the same event id."}

    return await _act(request, db, csrf, action, _on_endpoint(request, endpoint_id))


@router.get(HOME + "/{endpoint_id}/delete")
async def confirm_delete(request: Request, db: Db, endpoint_id: str):
    """Deleting asks first, on a page of its own: the pages run no script, so no confirm() dialog."""
    who = await viewer(db, request)
    if not who.signed_in:
        return redirect(login_link(f"{HOME}/{endpoint_id}"))
    ctx = await _context(request, db, who)
    if ctx is None:
        raise errors.NotFound("No such webhook endpoint in this team.")
    found = await webhooks.get(db, ctx, endpoint_id)
    return _draw(request, who, ctx, "webhook_delete.html", status=200, team=await teams.current(db, ctx),
                 endpoint=found)


@router.post(HOME + "/{endpoint_id}/delete")
async def delete(request: Request, db: Db, endpoint_id: str, csrf: Csrf):
    async def action(db, rt, ctx) -> Shown:
        url = (await webhooks.get(db, ctx, endpoint_id)).url
        await webhooks.delete(db, rt, ctx, endpoint_id)
        return {"notice": f"Endpoint {url} deleted, with its deliveries."}

    async def draw(db, who, **shown):
        if "error" in shown:  # refused: the endpoint's page says why (or is refused itself)
            return await _endpoint(request, db, who, endpoint_id, **shown)
        return await _list(request, db, who, **shown)

    return await _act(request, db, csrf, action, draw)
