"""Text people type (names, titles, descriptions): what it may not contain, wherever it comes in
(the API, a form, the command line)."""

from __future__ import annotations

import re
import unicodedata

# Embeddings, overrides and isolates make displayed text read differently from what it is
# ("Trojan Source"), e.g. a team name that spoofs an email subject. Marks (LRM/RLM) stay allowed.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_SEPARATORS = frozenset("\u2028\u2029")


def _unsafe(c: str, allowed: str) -> bool:
    """Control characters (C0, DEL, C1), lone surrogates (no UTF-8 form: the database would refuse
    them), bidi embeddings/overrides/isolates and Unicode line separators."""
    return c not in allowed and (unicodedata.category(c) in ("Cc", "Cs") or c in BIDI_CONTROLS
                                 or c in LINE_SEPARATORS)


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """What is wrong with `value`, or None. One-line text takes no line breaks at all."""
    if any(_unsafe(c, "\t\n\r" if multiline else "") for c in value):
        return ("must not contain control characters (other than tabs and line breaks) or bidi overrides"
                if multiline else "must not contain control characters, line breaks or bidi overrides")
    return None


def name_problem(value: str, *, max_length: int = 100) -> str | None:
    """A person's or a team's name: 1 to `max_length` characters of one-line text."""
    if not value.strip() or len(value) > max_length:
        return f"must be 1 to {max_length} characters"
    return text_problem(value)


# A product's own user id (DESIGN 12): Auth0's `auth0|5f7c...`, Clerk's `user_2N...`, UUIDs, numbers,
# addresses. It travels in a URL path segment and an HTTP header, so no `/`, no space, ASCII only.
EXTERNAL_ID = re.compile(r"[A-Za-z0-9._~:@|+=-]{1,255}")
EXTERNAL_ID_RULE = "must be 1 to 255 characters: letters, digits and . _ ~ : @ | + = -"


def external_id_problem(value: str) -> str | None:
    """What is wrong with an external id, or None. Compared exactly (case matters), never folded."""
    return None if EXTERNAL_ID.fullmatch(value) else EXTERNAL_ID_RULE
