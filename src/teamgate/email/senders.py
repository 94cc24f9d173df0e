"""Where email goes: a small Protocol with console, file and memory implementations."""

from __future__ import annotations

import sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

import aiosmtplib

from teamgate.config import Settings
from teamgate.email.outbox import Outgoing


class Sender(Protocol):
    async def send(self, message: Outgoing) -> None: ...


def to_mime(message: Outgoing, sender: str) -> EmailMessage:
    """A multipart text + HTML message with the headers mail servers expect."""
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = message.recipient
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = make_msgid(idstring=message.id, domain=sender.rsplit("@", 1)[-1].strip(">") or None)
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime


class ConsoleSender:
    """Development default: print the text part, so the link can be copied from the terminal."""

    def __init__(self, settings: Settings, stream=None) -> None:
        self._from = settings.email_from
        self._stream = stream

    async def send(self, message: Outgoing) -> None:
        stream = self._stream or sys.stdout
        bar = "-" * 72
        stream.write(f"{bar}\nEmail to {message.recipient} from {self._from}\nSubject: {message.subject}\n\n"
                     f"{message.text.rstrip()}\n{bar}\n")
        stream.flush()


class FileSender:
    """One .eml file per message in TEAMGATE_EMAIL_DIR."""

    def __init__(self, settings: Settings) -> None:
        self._from = settings.email_from
        self._dir = Path(settings.email_dir or settings.data_dir / "emails")

    async def send(self, message: Outgoing) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        (self._dir / f"{message.id}.eml").write_bytes(bytes(to_mime(message, self._from)))


class MemorySender:
    """Keeps messages in a list (tests read them)."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> None:
        self.sent.append(message)


class SmtpSender:
    """Delivery through an SMTP server (aiosmtplib)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, message: Outgoing) -> None:
        s = self._settings
        await aiosmtplib.send(
            to_mime(message, s.email_from), hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            start_tls=s.smtp_starttls, use_tls=s.smtp_tls, timeout=30)


def make_sender(settings: Settings) -> Sender:
    if settings.email_backend == "file":
        return FileSender(settings)
    if settings.email_backend == "memory":
        return MemorySender()
    if settings.email_backend == "smtp":
        return SmtpSender(settings)
    return ConsoleSender(settings)
