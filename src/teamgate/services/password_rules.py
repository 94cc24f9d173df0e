"""The one place new code asks whether a chosen password is acceptable.

Password strength is moving to a real estimator that weighs the person's name and address
(DESIGN 10), so the account is passed in already; the call below is the one line to change."""

from __future__ import annotations

from teamgate.domain.passwords import password_problem
from teamgate.storage.models import User


def new_password_problem(password: str, user: User) -> str | None:
    """Why `password` may not become `user`'s password, or None."""
    return password_problem(password)
