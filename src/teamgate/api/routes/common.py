"""Pieces several routers share: pagination parameters and the session cookie."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Response

from teamgate import errors
from teamgate.api.deps import SESSION_COOKIE
from teamgate.api.schemas import decode_cursor
from teamgate.runtime import Runtime


@dataclass(frozen=True)
class Paging:
    limit: int
    after_id: str | None


async def paging(limit: Annotated[int, Query(ge=1, le=100)] = 50,
                 cursor: Annotated[str | None, Query(max_length=80)] = None) -> Paging:
    try:
        return Paging(limit, decode_cursor(cursor))
    except ValueError:
        raise errors.ValidationFailed("cursor", "is not a cursor this API returned") from None


Pages = Annotated[Paging, Depends(paging)]


def set_session_cookie(response: Response, rt: Runtime, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=int(rt.settings.session_ttl_days * 86400), httponly=True,
                        samesite="lax", secure=rt.settings.secure_cookies, path="/")


def clear_session_cookie(response: Response, rt: Runtime) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=rt.settings.secure_cookies, path="/")
