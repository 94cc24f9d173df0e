"""Who is looking at a page, and CSRF for forms.

A form POST must carry a token the page put in it: the session's CSRF token when signed in,
else one bound to a pre-session cookie. A cross-site request can read neither. Requests whose
Origin (or Sec-Fetch-Site) says they come from another site are refused before that.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain.tokens import derive, same
from teamgate.http.cookies import PRESESSION_COOKIE, SESSION_COOKIE
from teamgate.http.deps import client_ip, runtime
from teamgate.services import accounts
from teamgate.services.context import Actor


class Viewer:
    """Who is looking at a page: a signed-in user (with their session) or nobody."""

    def __init__(self, session=None, user=None, token: str | None = None) -> None:
        self.session, self.user, self.token = session, user, token

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    def actor(self, request: Request) -> Actor:
        """The signed-in viewer as the actor of a service call."""
        return Actor(kind="user", id=self.user.id, name=self.user.name, user=self.user,
                     ip=client_ip(request), user_agent=request.headers.get("user-agent"))


async def viewer(db: AsyncSession, request: Request) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    found = await accounts.resolve_session(db, runtime(request), token) if token else None
    return Viewer(found[0], found[1], token) if found else Viewer()


def form_token(request: Request, who: Viewer) -> str:
    """The CSRF token to put in this page's forms (a new pre-session nonce is left in
    `request.state.presession` for the page to set as a cookie)."""
    rt = runtime(request)
    if who.token is not None:
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
    if who.token is not None:
        expected = accounts.csrf_token(rt, who.token)
    else:
        nonce = request.cookies.get(PRESESSION_COOKIE)
        expected = derive(rt.settings.secret, "presession", nonce) if nonce else ""
    if not sent or not expected or not same(sent, expected):
        raise errors.CsrfFailed("This form has expired or did not come from this site. Reload the page and try again.")


async def posted_by(db: AsyncSession, request: Request, csrf: str | None) -> Viewer:
    """Who sent this form, once the form has passed `check_form` (else CsrfFailed)."""
    who = await viewer(db, request)
    check_form(request, who, csrf)
    return who


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
