"""The message bytes built once (email/mime.py) read back as the EmailMessage the senders built
before: the same headers and parts, for plain and for awkward text, and no header injection."""

import email
from email import policy

import pytest

from teamgate.email.messages import Outgoing
from teamgate.email.mime import Mime
from teamgate.email.senders import to_mime

SENDERS = ["teamgate <noreply@teams.example.com>", "Acme, Inc. <noreply@x.example>", "Ünïcode Team <a@b.example>"]
SUBJECTS = ["Olivia Owner invited you to join Acme on teamgate", "Café «équipe» — " * 6, "=?utf-8?q?x?= looks encoded"]
TEXT = "Hello\r\nline with trailing space  \n\ttab\t\n=equals= and . \n.dot first\n" + "long " * 40 + "\nlast"


def _read(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)


@pytest.mark.parametrize("sender", SENDERS)
@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_prepared_bytes_read_back_as_the_email_message_did(sender, subject):
    message = Outgoing(id="msg_1", recipient="to@example.com", subject=subject, text=TEXT + " ünï",
                       html="<p>html <a href='https://x/invite?token=t'>x</a> ünï</p>")
    new, old = _read(Mime(sender).bytes_of(message)), _read(bytes(to_mime(message, sender)))
    assert not new.defects and new.get_content_type() == "multipart/alternative"
    for name in ("From", "To", "Subject"):
        assert str(new[name]) == str(old[name]), name
    for kind in ("plain", "html"):
        assert new.get_body((kind,)).get_content() == old.get_body((kind,)).get_content(), kind
    assert new["Date"] and new["Message-ID"].split("@")[1] == old["Message-ID"].split("@")[1]


@pytest.mark.parametrize("field", ["recipient", "subject"])
def test_a_header_with_a_line_break_is_refused(field):
    values = {"id": "msg_1", "recipient": "to@example.com", "subject": "s", "text": "t", "html": "h",
              field: "x@example.com\r\nBcc: evil@example.com"}
    with pytest.raises(ValueError, match="line break"):
        Mime(SENDERS[0]).bytes_of(Outgoing(**values))
