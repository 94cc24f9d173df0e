"""Emails rendered from Jinja2 templates: HTML autoescaped, subjects kept to one line.

Operators can override any template (`invitation`, `resend`, `reminder`, `renewal_request`,
`join_approved`, `password_reset`, `verify_email`: `.txt`, `.html`, `_subject.txt`)
by putting a file of the same name in TEAMGATE_TEMPLATES_DIR.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, select_autoescape

SUBJECT_LIMIT = 300


@dataclass(frozen=True)
class Outgoing:
    """A message as a sender gets it: opened from the outbox, ready to go."""
    id: str
    recipient: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def one_line(value: str) -> str:
    """Text going into a header: no line breaks, so nothing can be injected after it."""
    return " ".join(value.split())


def describe_lifetime(expires_at: datetime, now: datetime) -> str:
    seconds = max(0, (expires_at - now).total_seconds())
    days = round(seconds / 86400)
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = max(1, round(seconds / 3600))
    return f"{hours} hour{'s' if hours != 1 else ''}"


class Templates:
    def __init__(self, override_dir: Path | None = None) -> None:
        loaders = [FileSystemLoader(override_dir)] if override_dir else []
        self._env = Environment(loader=ChoiceLoader([*loaders, PackageLoader("teamgate.email", "templates")]),
                                autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                                keep_trailing_newline=True)

    def render(self, name: str, **context) -> Rendered:
        subject = self._env.get_template(f"{name}_subject.txt").render(context)
        return Rendered(subject=one_line(subject)[:SUBJECT_LIMIT],
                        text=self._env.get_template(f"{name}.txt").render(context),
                        html=self._env.get_template(f"{name}.html").render(context))

    def invitation(self, *, product: str, team: str, inviter: str, role: str, url: str, expires_at: datetime,
                   now: datetime, resend: bool) -> Rendered:
        return self.render("resend" if resend else "invitation", product=product, team=team, inviter=inviter,
                           role=role, url=url, lifetime=describe_lifetime(expires_at, now),
                           expires_utc=expires_at.strftime("%Y-%m-%d %H:%M UTC"))

    def reminder(self, *, product: str, team: str, inviter: str, role: str, url: str, expires_at: datetime,
                 now: datetime) -> Rendered:
        """The one reminder before a pending invitation expires, with a fresh mail token (DESIGN 14)."""
        return self.render("reminder", product=product, team=team, inviter=inviter, role=role, url=url,
                           lifetime=describe_lifetime(expires_at, now),
                           expires_utc=expires_at.strftime("%Y-%m-%d %H:%M UTC"))

    def account_link(self, purpose: str, *, product: str, name: str, email: str, url: str, expires_at: datetime,
                     now: datetime) -> Rendered:
        """A password-reset (`password_reset`) or address-verification (`verify_email`) email."""
        return self.render(purpose, product=product, person=name, email=email, url=url,
                           lifetime=describe_lifetime(expires_at, now))
