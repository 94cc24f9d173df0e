"""Each kind of sending failure maps to its stable code and a fixed sentence, whatever the
exception's text says (it names hosts, ports and paths, which admins must not read)."""

import socket
import ssl

import aiosmtplib
import pytest

from teamgate.email.failures import CODES, classify

SECRET_TEXT = "mx.internal.example:2525 /srv/teamgate/data"


def chained(outer: Exception, cause: BaseException) -> Exception:
    outer.__cause__ = cause
    return outer


CASES = [
    (aiosmtplib.SMTPAuthenticationError(535, f"5.7.8 bad credentials for {SECRET_TEXT}"), "smtp_auth_failed"),
    (aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, SECRET_TEXT, "x@example.com")]),
     "recipient_refused"),
    (aiosmtplib.SMTPRecipientRefused(551, SECRET_TEXT, "x@example.com"), "recipient_refused"),
    (aiosmtplib.SMTPSenderRefused(553, SECRET_TEXT, "from@example.com"), "smtp_refused"),
    (aiosmtplib.SMTPDataError(554, SECRET_TEXT), "smtp_refused"),
    (aiosmtplib.SMTPConnectError(f"Error connecting to {SECRET_TEXT}"), "smtp_unreachable"),
    (aiosmtplib.SMTPServerDisconnected(SECRET_TEXT), "smtp_unreachable"),
    (ConnectionRefusedError(111, SECRET_TEXT), "smtp_unreachable"),
    (socket.gaierror(-2, SECRET_TEXT), "smtp_unreachable"),
    (aiosmtplib.SMTPConnectTimeoutError(SECRET_TEXT), "timeout"),
    (aiosmtplib.SMTPReadTimeoutError(SECRET_TEXT), "timeout"),
    (chained(aiosmtplib.SMTPConnectError(SECRET_TEXT), ssl.SSLCertVerificationError(SECRET_TEXT)), "tls_failed"),
    (aiosmtplib.SMTPException("SMTP STARTTLS extension not supported by server."), "unknown"),
    (aiosmtplib.SMTPNotSupported("SMTP STARTTLS extension not supported by server."), "tls_failed"),
    (PermissionError(13, "Permission denied", "/srv/teamgate/data/emails/msg.eml"), "unknown"),
    (ValueError(SECRET_TEXT), "unknown"),
]


@pytest.mark.parametrize(("error", "code"), CASES, ids=[f"{type(e).__name__}-{c}" for e, c in CASES])
def test_each_failure_has_its_code_and_a_sentence_without_the_exception_text(error, code):
    reason = classify(error)
    assert reason.code == code and reason.code in CODES
    for internal in ("mx.internal", "2525", "/", "Errno", "Permission denied"):
        assert internal not in reason.message, (internal, reason.message)


def test_only_the_smtp_reply_number_is_carried_over():
    reason = classify(aiosmtplib.SMTPRecipientRefused(550, "5.1.1 <x@example.com> unknown at mx.example", "x"))
    assert reason.message == "The recipient's mail server refused the address (SMTP 550). Check the address, then resend."
