"""A message's bytes, built once: multipart/alternative, a text and an HTML part, both
quoted-printable UTF-8, with the headers mail servers expect.

`email.message.EmailMessage` builds the same message through its header registry and content
manager, about 2.5 ms per message: the dispatcher's largest cost per email. Here the parts are
encoded by binascii (C) and the headers that need no encoding are written as they are; a header
that does (a subject or a sender name beyond ASCII, a long one) is folded by the email package's
own default policy, as before. A header value with a line break is refused, as EmailMessage
refuses it: a second guard against header injection after messages.one_line.
"""

from __future__ import annotations

import binascii
import re
import secrets
from email import policy
from email.utils import formatdate, make_msgid, parseaddr

from teamgate.email.messages import Outgoing

_PLAIN_MAX = 78 - len("Subject: ")  # an ASCII value this short needs no folding
# what may be written as it is: text with no encoded word in it (the email package would decode
# one, then encode it again), and for an address, a bare ASCII one with nothing to quote
_PLAIN = {"Subject": re.compile(r"(?!.*=\?)[ -~]*"),
          "To": re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")}


def header(name: str, value: str) -> str:
    """One header line (ending in a newline), encoded and folded only when it must be."""
    if "\n" in value or "\r" in value:
        raise ValueError(f"a {name} header value may not contain a line break")
    plain = _PLAIN.get(name)
    if plain is not None and len(value) <= _PLAIN_MAX and plain.fullmatch(value):
        return f"{name}: {value}\n"
    return policy.default.fold(name, value)


def _part(subtype: str, content: str) -> str:
    # as EmailMessage.set_content: the lines end in a newline, whatever ended them before
    body = b"\n".join(content.encode("utf-8").splitlines()) + b"\n"
    encoded = binascii.b2a_qp(body, quotetabs=False, istext=True, header=False).decode("ascii")
    return (f'Content-Type: text/{subtype}; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable\n\n'
            f"{encoded}")


class Mime:
    """What every message from one sender address shares, worked out once."""

    def __init__(self, sender: str) -> None:
        self.sender = sender
        self.envelope_from = parseaddr(sender)[1]  # the address SMTP's MAIL FROM names
        self._from = header("From", sender)
        self._domain = sender.rsplit("@", 1)[-1].strip(" >") or None

    def bytes_of(self, message: Outgoing) -> bytes:
        """The whole message, with newline line ends (SMTP clients turn them into CRLF)."""
        boundary = f"==teamgate-{secrets.token_hex(12)}=="  # "==" never occurs in quoted-printable lines
        return "".join((
            self._from, header("To", message.recipient), header("Subject", message.subject),
            f"Date: {formatdate(usegmt=True)}\n",
            f"Message-ID: {make_msgid(idstring=message.id, domain=self._domain)}\n",
            f'MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="{boundary}"\n\n',
            # the newline before each boundary is the boundary's, not the part's (RFC 2046 5.1.1)
            f"--{boundary}\n", _part("plain", message.text),
            f"\n--{boundary}\n", _part("html", message.html),
            f"\n--{boundary}--\n")).encode("utf-8")  # ASCII but for an address beyond it (SMTPUTF8)
