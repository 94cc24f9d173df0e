"""Where email goes: a small Protocol with smtp, console, file and memory implementations.

A sender takes a batch and reports, per message, None (accepted) or the error, so that the
dispatcher can record each outcome; one failure never hides the others. When `stop` is set it
returns after the message in hand: the outcomes then cover only the messages it attempted.
"""

from __future__ import annotations

import asyncio
import sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

import aiosmtplib

from teamgate.config import Settings
from teamgate.email.messages import Outgoing
from teamgate.email.mime import Mime

Outcome = Exception | None


class Sender(Protocol):
    async def send_many(self, messages: list[Outgoing], stop: asyncio.Event | None = None) -> list[Outcome]: ...


def stopped(stop: asyncio.Event | None) -> bool:
    return stop is not None and stop.is_set()


def to_mime(message: Outgoing, sender: str) -> EmailMessage:
    """A multipart text + HTML message with the headers mail servers expect, as an EmailMessage:
    for SMTP's international addresses (SMTPUTF8) only; otherwise email/mime.py builds the
    same message's bytes at a thirtieth of the cost.

    EmailMessage refuses header values with line breaks, a second guard against injection."""
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = message.recipient
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(usegmt=True)
    domain = sender.rsplit("@", 1)[-1].strip(" >") or None
    mime["Message-ID"] = make_msgid(idstring=message.id, domain=domain)
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime


class OneByOne:
    """For senders with nothing to share across a batch."""

    async def send(self, message: Outgoing) -> None:
        raise NotImplementedError

    async def send_many(self, messages: list[Outgoing], stop: asyncio.Event | None = None) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for message in messages:
            if stopped(stop):
                break
            try:
                await self.send(message)
                outcomes.append(None)
            except Exception as exc:  # noqa: BLE001 - recorded per message by the dispatcher
                outcomes.append(exc)
        return outcomes


class ConsoleSender(OneByOne):
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


class FileSender(OneByOne):
    """One .eml file per message in TEAMGATE_EMAIL_DIR."""

    def __init__(self, settings: Settings) -> None:
        self._mime = Mime(settings.email_from)
        self._dir = Path(settings.email_dir or settings.data_dir / "emails")

    async def send(self, message: Outgoing) -> None:
        data, path = self._mime.bytes_of(message), self._dir / f"{message.id}.eml"
        try:
            path.write_bytes(data)
        except FileNotFoundError:  # the folder is made at the first message, not looked for at each
            self._dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


class MemorySender(OneByOne):
    """Keeps messages in a list (tests read them)."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> None:
        self.sent.append(message)


class SmtpSender:
    """Delivery through an SMTP server (aiosmtplib), one connection for a whole batch."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._mime = Mime(settings.email_from)

    async def _send(self, smtp: aiosmtplib.SMTP, message: Outgoing) -> None:
        """Prepared bytes when both addresses are ASCII (nearly always); else the EmailMessage,
        from which aiosmtplib asks for SMTPUTF8."""
        if message.recipient.isascii() and self._mime.envelope_from.isascii():
            await smtp.sendmail(self._mime.envelope_from, [message.recipient], self._mime.bytes_of(message))
        else:
            await smtp.send_message(to_mime(message, self._settings.email_from))

    def _client(self) -> aiosmtplib.SMTP:
        s = self._settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            use_tls=s.smtp_tls, start_tls=False if s.smtp_tls else s.smtp_starttls, timeout=s.smtp_timeout,
            validate_certs=s.smtp_validate_certs)

    async def send_many(self, messages: list[Outgoing], stop: asyncio.Event | None = None) -> list[Outcome]:
        smtp = self._client()
        try:
            await smtp.connect()  # also STARTTLS and login, as configured
        except Exception as exc:  # noqa: BLE001 - server down, TLS or login refused: every message waits for a retry
            return [exc] * len(messages)
        outcomes: list[Outcome] = []
        try:
            for message in messages:
                if stopped(stop):
                    break
                if not smtp.is_connected:
                    outcomes.append(aiosmtplib.SMTPServerDisconnected("connection lost during the batch"))
                    continue
                try:
                    await self._send(smtp, message)
                    outcomes.append(None)
                except Exception as exc:  # noqa: BLE001 - this recipient or message was refused; go on with the rest
                    outcomes.append(exc)
        finally:
            try:
                await smtp.quit()
            except Exception:  # noqa: BLE001 - the messages' fate is already decided; a failed QUIT changes nothing
                smtp.close()
        return outcomes


def make_sender(settings: Settings) -> Sender:
    if settings.email_backend == "file":
        return FileSender(settings)
    if settings.email_backend == "memory":
        return MemorySender()
    if settings.email_backend == "smtp":
        return SmtpSender(settings)
    return ConsoleSender(settings)
