"""Request and response models of recovery and self-service (DESIGN 10), beside schemas.py."""

from __future__ import annotations

from typing import Literal

from teamgate.api.schemas import EmailText, Input, Name, Output, Password, Token, Utc


class PasswordResetIn(Input):
    email: EmailText


class PasswordResetConfirmIn(Input):
    token: Token
    password: Password


class VerifyEmailIn(Input):
    token: Token


class ProfileUpdate(Input):
    first_name: Name | None = None
    last_name: Name | None = None


class PasswordChangeIn(Input):
    current_password: Password
    new_password: Password


class EmailSentOut(Output):
    """The same answer whether or not an account has the address."""

    status: Literal["accepted"] = "accepted"
    detail: str


class SessionOut(Output):
    """A session as its owner sees it: never its token."""

    id: str
    created_at: Utc
    last_seen_at: Utc
    expires_at: Utc
    ip: str | None
    user_agent: str | None
    current: bool


class SessionList(Output):
    data: list[SessionOut]
