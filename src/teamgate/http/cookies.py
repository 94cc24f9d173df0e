"""The cookies the API and the pages set: the session, and the pre-session nonce that binds a
signed-out form's CSRF token to this browser."""

from __future__ import annotations

from fastapi import Response

from teamgate.runtime import Runtime

SESSION_COOKIE = "teamgate_session"
PRESESSION_COOKIE = "teamgate_presession"


def set_session_cookie(response: Response, rt: Runtime, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=int(rt.settings.session_ttl_days * 86400), httponly=True,
                        samesite="lax", secure=rt.settings.secure_cookies, path="/")


def clear_session_cookie(response: Response, rt: Runtime) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=rt.settings.secure_cookies, path="/")


def set_presession_cookie(response: Response, rt: Runtime, nonce: str) -> None:
    response.set_cookie(PRESESSION_COOKIE, nonce, httponly=True, samesite="lax", secure=rt.settings.secure_cookies,
                        path="/")
