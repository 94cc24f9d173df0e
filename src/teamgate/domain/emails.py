"""Email addresses: trimmed and validated (no DNS), kept as typed and case-folded for matching."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True)
class Email:
    display: str
    normalized: str


def parse_email(raw: str) -> Email:
    """Validate an address and return its display and matching forms; ValueError if invalid."""
    text = raw.strip()
    if not text or len(text) > MAX_EMAIL_LENGTH:
        raise ValueError("must be a valid email address")
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    folded = checked.normalized.casefold()
    if folded != checked.normalized.lower():
        # full case folding merges different mailboxes and domains (straße.de and strasse.de, the
        # long s and s, ligatures, final sigma): such an address could take another's account
        raise ValueError("has characters (such as ß) that cannot be told apart from another address; "
                         "write it in its plain form")
    if not folded.isascii():  # folding can lengthen non-ASCII text (ΐ becomes three characters)
        try:
            validate_email(folded, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValueError(str(exc)) from None
    return Email(display=checked.normalized, normalized=folded)


def normalize_email(raw: str) -> str:
    """The matching form of an address (invalid input still folds, so lookups simply miss)."""
    try:
        return parse_email(raw).normalized
    except ValueError:
        return raw.strip().casefold()
