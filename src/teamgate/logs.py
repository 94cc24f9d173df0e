"""Logging that never carries a secret: tokens in paths and query strings are redacted."""

from __future__ import annotations

import logging
import re

_SECRET_IN_PATH = re.compile(r"(/validate/|[?&]token=)[^/?&\s\"]+")


def redact(text: str) -> str:
    return _SECRET_IN_PATH.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """Rewrites uvicorn's access-log arguments (client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(record.msg) if isinstance(record.msg, str) else record.msg
        return True


def install_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "teamgate"):
        logging.getLogger(name).addFilter(RedactTokens())
