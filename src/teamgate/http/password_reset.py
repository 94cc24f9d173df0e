"""Asking for a password-reset email, as the API and the page both do it (DESIGN 10)."""

from __future__ import annotations

import logging

from fastapi import BackgroundTasks, Request

from teamgate.domain.emails import normalize_email
from teamgate.http.deps import client_ip
from teamgate.runtime import Runtime
from teamgate.services import recovery
from teamgate.storage.db import unit_of_work

log = logging.getLogger("teamgate.recovery")


async def ask_for_reset(request: Request, rt: Runtime, email: str, background: BackgroundTasks) -> None:
    """Count the request against the limits, then look the address up only after the answer has
    gone: whether an account has it changes the work done, so it must not change the answer's
    timing. Raises RateLimited (per client and per address, known or not)."""
    ip, agent = client_ip(request), request.headers.get("user-agent")
    await rt.limits.account_email(ip, normalize_email(email))
    background.add_task(_reset_after_answer, rt, email, ip, agent)


async def _reset_after_answer(rt: Runtime, email: str, ip: str | None, agent: str | None) -> None:
    """Its own transaction, deliberately: it runs after the response, when the request's has ended."""
    try:
        async with unit_of_work(rt.sessions) as db:
            await recovery.request_password_reset(db, rt, email=email, ip=ip, user_agent=agent)
    except Exception:  # the answer has gone; the person can ask again
        log.exception("password_reset.request_failed")
