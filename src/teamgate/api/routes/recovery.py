"""Password reset and address verification by emailed link (DESIGN 10). Public: the link is the proof."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response

from teamgate.api import account_schemas as a
from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.http.cookies import set_session_cookie
from teamgate.http.deps import Authenticated, Db, Rt, client_ip, token_use_limit
from teamgate.http.password_reset import ask_for_reset
from teamgate.services import accounts, recovery

router = APIRouter(tags=["recovery"])
RESET_REQUESTED = "If an account has this address, we sent it a link to choose a new password."


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
                                               signed_in=auth.signed_in_user,
                                               ip=client_ip(request), user_agent=request.headers.get("user-agent"))
    return present.user(user)
