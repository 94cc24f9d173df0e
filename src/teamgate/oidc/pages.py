"""The provider's endpoints that a person's browser visits: authorize (sign in through `/login`,
the consent page, then back to the client) and RP-initiated logout (with a confirmation page
when the request does not prove which sign-in it ends)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from teamgate.domain import oidc as rules
from teamgate.http.cookies import clear_session_cookie
from teamgate.http.deps import Db, runtime
from teamgate.http.forms import Viewer, check_form, form_token, viewer
from teamgate.http.pages import redirect, render, renderer
from teamgate.oidc import flows
from teamgate.oidc.bridge import Call, Incoming, run
from teamgate.oidc.models import Subject
from teamgate.oidc.routes import oversized, provider, read, respond
from teamgate.services import accounts, oauth_grants

router = APIRouter(include_in_schema=False)
templates = renderer(Path(__file__).parent / "templates")
OURS = {"csrf", "decision", "confirm"}  # the consent and logout forms' own fields, not the client's


def params(incoming: Incoming, *, drop_prompt: str | None = None) -> list[tuple[str, str]]:
    """The client's parameters (query and form), without the page forms' own fields."""
    kept = []
    for name, value in [*incoming.args, *incoming.form]:
        if name in OURS:
            continue
        if name == "prompt" and drop_prompt:
            value = " ".join(p for p in value.split() if p != drop_prompt)
            if not value:
                continue
        kept.append((name, value))
    return kept


def problem(request: Request, who: Viewer, message: str, *, title: str = "This sign-in cannot go on") -> Response:
    return render(templates, request, "oidc_problem.html", status=400, title=title, message=message, viewer=who)


async def _subject(db, request: Request, who: Viewer, team_id: str | None) -> Subject | None:
    if not who.signed_in:
        return None
    rt = runtime(request)
    teams = await oauth_grants.memberships(db, rt, who.user.id)
    team = next((t for t in teams if t.id == team_id), None) if team_id else None
    return Subject(oauth_grants.Person(user=who.user, teams=teams, team=team, auth_time=who.session.created_at))


@router.api_route(rules.AUTHORIZE_PATH, methods=["GET", "POST"])
async def authorize(request: Request, db: Db):
    incoming = await read(request)
    who = await viewer(db, request)
    if oversized(incoming):
        return problem(request, who, "The request carries a parameter that is far too long.")
    form = dict(incoming.form)
    decision = form.get("decision") if request.method == "POST" and "decision" in form else None
    if decision is not None:
        check_form(request, who, form.get("csrf"))  # a consent comes from this site's page, by this person
        if decision not in {"allow", "deny"}:
            return problem(request, who, "Choose allow or deny.")
    team_id = dict([*incoming.args, *incoming.form]).get("team")
    subject = await _subject(db, request, who, team_id)
    outcome = await run(Call(db, runtime(request), incoming), flows.authorize, provider(request), incoming, subject,
                        team_asked=bool(team_id), decision=decision)
    if outcome.problem is not None:
        return problem(request, who, outcome.problem)
    if outcome.login:
        query = urlencode(params(incoming, drop_prompt="login" if outcome.again else None))
        target = {"next": f"{rules.AUTHORIZE_PATH}?{query}", **({"prompt": "login"} if outcome.again else {})}
        return redirect(f"/login?{urlencode(target)}")
    if outcome.consent is not None:
        client = outcome.consent
        return render(templates, request, "consent.html", viewer=who, client=client.row, csrf=form_token(request, who),
                      fields=params(incoming), team=subject.person.team if subject else None,
                      scopes=[(s, rules.SCOPE_DESCRIPTIONS[s]) for s in outcome.scopes],
                      form_targets=[rules.origin(outcome.redirect_uri)])
    return respond(outcome.answer)


@router.api_route("/oauth/logout", methods=["GET", "POST"])
async def logout(request: Request, db: Db):
    rt = runtime(request)
    incoming = await read(request)
    who = await viewer(db, request)
    if oversized(incoming):
        return problem(request, who, "The request carries a parameter that is far too long.", title="Sign out")
    confirmed = request.method == "POST" and "confirm" in dict(incoming.form)
    if confirmed:
        check_form(request, who, dict(incoming.form).get("csrf"))
    call = Call(db, rt, incoming, memo={"confirmed": confirmed})
    outcome = await run(call, flows.logout, provider(request), incoming, who.user.id if who.signed_in else None,
                        confirmed=confirmed)
    if outcome.problem is not None:
        return problem(request, who, f"This sign-out request is not valid: {outcome.problem}", title="Sign out")
    if outcome.confirm:
        return render(templates, request, "oidc_logout.html", viewer=who, csrf=form_token(request, who),
                      fields=params(incoming), client=outcome.client.row if outcome.client else None,
                      form_targets=[rules.origin(outcome.target)] if outcome.target else [])
    if who.signed_in:
        await accounts.end_session(db, who.session)
    if outcome.answer is not None:
        response = respond(outcome.answer)
    else:
        response = render(templates, request, "oidc_problem.html", title="Signed out", viewer=None,
                          message="You are signed out of teamgate. You can close this page.")
    clear_session_cookie(response, rt)
    return response

