"""Logs: one JSON object per line (or plain text for a person at a terminal), each with the
request id of the request it belongs to, dotted event names (`invitation.accepted`) and never a
secret: tokens in paths and query strings are redacted, and no log call is given one."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID: ContextVar[str | None] = ContextVar("teamgate_request_id", default=None)
_SECRET_IN_PATH = re.compile(r"(/validate/|[?&]token=)[^/?&\s\"]+")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName",
                                                                         "color_message"}  # uvicorn's ANSI copy


def redact(text: str) -> str:
    return _SECRET_IN_PATH.sub(r"\1[redacted]", text)


def _fields(record: logging.LogRecord) -> dict:
    """The record's own fields (`extra=`), each string redacted: the one place secrets are kept out."""
    return {k: redact(v) if isinstance(v, str) else v
            for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "event": redact(record.getMessage()), "logger": record.name}
        if (request_id := REQUEST_ID.get()) is not None:
            line["request_id"] = request_id
        line.update(_fields(record))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        request_id = REQUEST_ID.get()
        text = f"{record.levelname.lower():7} {redact(record.getMessage())}" + (f" {extra}" if extra else "") + \
            (f" request_id={request_id}" if request_id else "")
        return text + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")


def configure(log_format: str = "auto", level: str = "info") -> None:
    """Route every logger (ours, uvicorn's, SQLAlchemy's warnings) to stderr in one format."""
    handler = logging.StreamHandler(sys.stderr)
    text = log_format == "text" or (log_format == "auto" and sys.stderr.isatty())
    handler.setFormatter(Text() if text else JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")  # replaced by our `http.request` lines (middleware.Observe)
    access.handlers[:], access.propagate = [], False
    # httpx logs every request's full URL at info; a webhook endpoint's URL may carry the
    # receiver's own token in its query, so only its warnings pass (ours are webhook.send.*)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
