"""Invitation emails rendered from Jinja2 templates (HTML autoescaped, text plain)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment, PackageLoader, select_autoescape

_env = Environment(loader=PackageLoader("teamgate.email", "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def one_line(value: str) -> str:
    """User-supplied text going into a header: no line breaks, so no injected headers."""
    return " ".join(value.split())


def describe_lifetime(expires_at: datetime, now: datetime) -> str:
    seconds = max(0, (expires_at - now).total_seconds())
    days = round(seconds / 86400)
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = max(1, round(seconds / 3600))
    return f"{hours} hour{'s' if hours != 1 else ''}"


def invitation_email(*, product: str, team: str, inviter: str, role: str, url: str, expires_at: datetime,
                     now: datetime, resend: bool) -> Rendered:
    context = {
        "product": product, "team": team, "inviter": inviter, "role": role, "url": url, "resend": resend,
        "lifetime": describe_lifetime(expires_at, now),
        "expires_utc": expires_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    subject = f"{'Reminder: ' if resend else ''}{inviter} invited you to join {team} on {product}"
    return Rendered(subject=one_line(subject)[:300], text=_env.get_template("invitation.txt").render(context),
                    html=_env.get_template("invitation.html").render(context))
