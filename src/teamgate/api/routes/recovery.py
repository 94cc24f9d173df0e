"""Password reset and address verification by emailed link (DESIGN 10). Public: the link is the proof."""

from __future__ import annotations

import logging

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response

from teamgate.api import account_schemas as a
from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.api.deps import Authenticated, Db, Rt, client_ip, token_use_limit
from teamgate.api.routes.common import set_session_cookie
from teamgate.domain.emails import normalize_email
from teamgate.runtime import Runtime
from teamgate.services import accounts, recovery
from teamgate.storage.db import unit_of_work

log = logging.getLogger("teamgate.recovery")
router = APIRouter(tags=["recovery"])
RESET_REQUESTED = "If an account has this address, we sent it a link to choose a new password."


async def ask_for_reset(request: Request, rt: Runtime, email: str, background: BackgroundTasks) -> None:
    """Count the request against the limits, then look the address up only after the answer has
    gone: whether an account has it changes the work done, so it must not change the answer's
    timing. Raises RateLimited (per client and per address, known or not)."""
    ip, agent = client_ip(request), request.headers.get("user-agent")
    await rt.limits.account_email(ip, normalize_email(email))
    background.add_task(_reset_after_answer, rt, email, ip, agent)


async def _reset_after_answer(rt: Runtime, email: str, ip: str | None, agent: str | None) -> None:
    try:
        async with unit_of_work(rt.sessions) as db:
            await recovery.request_password_reset(db, rt, email=email, ip=ip, user_agent=agent)
    except Exception:  # the answer has gone; the person can ask again
        log.exception("password_reset.request_failed")
        return
    if rt.dispatcher is not None:
        rt.dispatcher.wake()


@router.post("/auth/password-reset", status_code=202, response_model=a.EmailSentOut)
async def password_reset(body: a.PasswordResetIn, request: Request, background: BackgroundTasks, rt: Rt):
    """Email a single-use link to choose a new password; 202 whether or not an account has the address."""
    await ask_for_reset(request, rt, body.email, background)
    return a.EmailSentOut(detail=RESET_REQUESTED)


@router.post("/auth/password-reset/confirm", response_model=s.SignedInOut, dependencies=[Depends(token_use_limit)])
async def confirm_password_reset(body: a.PasswordResetConfirmIn, request: Request, response: Response, db: Db,
                                 rt: Rt):
    """Set the password from a reset link; every session of the account ends and this one starts."""
    signed_in = await recovery.confirm_password_reset(db, rt, token=body.token, password=body.password,
                                                      ip=client_ip(request),
                                                      user_agent=request.headers.get("user-agent"))
    set_session_cookie(response, rt, signed_in.token)
    return s.SignedInOut(user=present.user(signed_in.user), csrf_token=accounts.csrf_token(rt, signed_in.token))


@router.post("/auth/verify-email", response_model=s.UserOut, dependencies=[Depends(token_use_limit)])
async def verify_email(body: a.VerifyEmailIn, request: Request, auth: Authenticated, db: Db, rt: Rt):
    """Use an address-verification link, signed in as its account: its email becomes verified."""
    user = await recovery.confirm_verification(db, rt, token=body.token,
                                               signed_in=auth.actor.user if auth.session else None,
                                               ip=client_ip(request), user_agent=request.headers.get("user-agent"))
    return present.user(user)
