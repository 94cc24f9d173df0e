"""Password policy (DESIGN sections 5 and 10): length bounds, no composition rules, and a real
strength estimate (zxcvbn) that knows the person's names and address."""

from __future__ import annotations

from collections.abc import Iterable

from zxcvbn import zxcvbn

MIN_LENGTH = 8
MAX_LENGTH = 256
# zxcvbn's matching grows much faster than the length: 72 characters take ~30 ms, 256 up to ~2 s
# of CPU, a denial of service on a public route. It judges the first 72 (its own default bound);
# a longer password is at least as strong as its head, and a weak head (`aaaa...`) is refused.
JUDGED_LENGTH = 72
# The stored hash of an account made without a password (accepted on a product's word, DESIGN 12):
# no argon2 hash has this form, so no password matches it; a password reset gives the account one.
NO_PASSWORD = "!"
SCORE_WORDS = {0: "very easy to guess", 1: "easy to guess", 2: "somewhat easy to guess", 3: "hard to guess"}


def person_inputs(*, email: str | None, first_name: str | None = None, last_name: str | None = None) -> list[str]:
    """What an attacker who knows the person would try first: names, the address and its local part."""
    inputs = [first_name, last_name, email, email.rpartition("@")[0] if email else None]
    return [value.strip() for value in inputs if value and value.strip()]


def password_problem(password: str, *, user_inputs: Iterable[str] = (), min_score: int = 3) -> str | None:
    """Why a password is refused, in words a person understands, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:  # before any work: a 1 MB password costs nothing
        return f"must be at most {MAX_LENGTH} characters"
    inputs = [value[:JUDGED_LENGTH] for value in user_inputs if value]
    result = zxcvbn(password[:JUDGED_LENGTH], user_inputs=inputs)
    if result["score"] >= min_score:
        return None
    feedback = result.get("feedback") or {}
    reasons = [feedback.get("warning") or f"This password is {SCORE_WORDS.get(result['score'], 'easy to guess')}.",
               *(feedback.get("suggestions") or ["Add another word or two. Uncommon words are better."])]
    return " ".join(reason.strip() for reason in reasons if reason and reason.strip())
