"""Why an email was not sent, as team admins may see it: a stable code and a short sentence.

A sender's exception text names the mail server's host and port, file paths, or the server's
own reply, none of which a team admin should read (they describe the operator's set-up). So the
stored and shown reason is chosen from a fixed list here; only the SMTP reply number is carried
over. The raw text goes to the server log, for operators.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import dataclass

import aiosmtplib


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


MESSAGES = {
    "recipient_refused": "The recipient's mail server refused the address{reply}. Check the address, then resend.",
    "smtp_refused": "The mail server refused the message{reply}.",
    "smtp_auth_failed": "The mail server refused teamgate's sign-in; an operator must check the SMTP settings.",
    "smtp_unreachable": "The mail server could not be reached.",
    "timeout": "The mail server took too long to answer.",
    "tls_failed": "A secure connection to the mail server could not be made; an operator must check the TLS settings.",
    "unreadable": "The message can no longer be decrypted (the secret key was changed); resend the invitation.",
    "unknown": "The email could not be sent; the server log has the details.",
}
CODES = frozenset(MESSAGES)


def failure(code: str, reply: int | None = None) -> Failure:
    shown = f" (SMTP {reply})" if isinstance(reply, int) and 200 <= reply <= 599 else ""
    return Failure(code, MESSAGES[code].format(reply=shown))


def _causes(exc: BaseException | None):
    seen = set()
    while exc is not None and id(exc) not in seen:  # the chain may loop
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def classify(exc: BaseException) -> Failure:
    """The reason for a failed send, from the exception alone (never from its text)."""
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return failure("smtp_auth_failed", exc.code)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        first = exc.recipients[0] if exc.recipients else None
        return failure("recipient_refused", getattr(first, "code", None))
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return failure("recipient_refused", exc.code)
    if any(isinstance(e, ssl.SSLError) for e in _causes(exc)):
        return failure("tls_failed")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):  # the server lacks STARTTLS or AUTH that we were told to use
        return failure("tls_failed" if "TLS" in str(exc).upper() else "smtp_auth_failed")
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, aiosmtplib.SMTPTimeoutError)):
        return failure("timeout")
    if isinstance(exc, aiosmtplib.SMTPResponseException):  # sender, data, HELO or any other refusal
        if isinstance(exc, aiosmtplib.SMTPConnectResponseError):
            return failure("smtp_unreachable", exc.code)
        return failure("smtp_refused", exc.code)
    if isinstance(exc, (ConnectionError, socket.gaierror, aiosmtplib.SMTPConnectError,
                        aiosmtplib.SMTPServerDisconnected)):
        return failure("smtp_unreachable")
    return failure("unknown")
