"""What every page shares: templates, security headers, who is looking, and CSRF for forms.

A form POST must carry a token the page put in it: the session's CSRF token when signed in,
else one bound to a pre-session cookie. A cross-site request can read neither. Requests whose
Origin (or Sec-Fetch-Site) says they come from another site are refused before that.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from teamgate import errors
from teamgate.api.deps import SESSION_COOKIE, runtime
from teamgate.domain.tokens import derive, same
from teamgate.services import accounts

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
PRESESSION_COOKIE = "teamgate_presession"

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class Viewer:
    """Who is looking at a page: a signed-in user (with their session) or nobody."""

    def __init__(self, session=None, user=None, token: str | None = None) -> None:
        self.session, self.user, self.token = session, user, token

    @property
    def signed_in(self) -> bool:
        return self.user is not None


async def viewer(db, request: Request) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    found = await accounts.resolve_session(db, runtime(request), token) if token else None
    return Viewer(found[0], found[1], token) if found else Viewer()


def form_token(request: Request, who: Viewer) -> str:
    """The CSRF token to put in this page's forms."""
    rt = runtime(request)
    if who.signed_in:
        return accounts.csrf_token(rt, who.token)
    nonce = request.cookies.get(PRESESSION_COOKIE) or request.state.__dict__.setdefault(
        "presession", secrets.token_urlsafe(24))
    return derive(rt.settings.secret, "presession", nonce)


def check_form(request: Request, who: Viewer, sent: str | None) -> None:
    """Refuse a form POST from another site, or without this browser's token (CsrfFailed)."""
    rt = runtime(request)
    # Browsers send `Origin: null` from a no-referrer page, so "null" proves nothing either way;
    # Sec-Fetch-Site and a foreign Origin do, and the form token below is the real guard.
    origin = request.headers.get("origin")
    if request.headers.get("sec-fetch-site") == "cross-site" or (
            origin and origin != "null" and _origin(origin) != _origin(rt.settings.base_url)):
        raise errors.CsrfFailed("This form was sent from another site.")
    if who.signed_in:
        expected = accounts.csrf_token(rt, who.token)
    else:
        nonce = request.cookies.get(PRESESSION_COOKIE)
        expected = derive(rt.settings.secret, "presession", nonce) if nonce else ""
    if not sent or not expected or not same(sent, expected):
        raise errors.CsrfFailed("This form has expired or did not come from this site. Reload the page and try again.")


async def posted_by(request: Request, csrf: str | None) -> Viewer:
    """Who sent this form, once the form has passed `check_form` (else CsrfFailed)."""
    from teamgate.storage.db import unit_of_work

    async with unit_of_work(runtime(request).sessions) as db:
        who = await viewer(db, request)
    check_form(request, who, csrf)
    return who


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    rt = runtime(request)
    response = templates.TemplateResponse(request, name, {"product": rt.settings.product_name, **context},
                                          status_code=status)
    response.headers.update(PAGE_HEADERS)
    if presession := getattr(request.state, "presession", None):
        response.set_cookie(PRESESSION_COOKIE, presession, httponly=True, samesite="lax",
                            secure=rt.settings.secure_cookies, path="/")
    return response


def redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(PAGE_HEADERS)
    return response


def safe_next(target: str | None, default: str = "/console") -> str:
    """Only a path on this site: never `//elsewhere` or `https://elsewhere` (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def problem_page(request: Request, exc: errors.TeamgateError, who: Viewer | None = None) -> HTMLResponse:
    from teamgate.api.errors import STATUS

    response = page(request, "message.html", status=STATUS.get(exc.code, 400), title=exc.title, message=exc.detail,
                     viewer=who)
    if "retryAfter" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retryAfter"])
    return response
