"""Secrets never reach the logs: the access log's token-bearing paths are redacted."""

import logging

from teamgate.logs import RedactTokens, redact


def test_validate_paths_and_token_queries_are_redacted():
    assert redact("GET /api/v1/team-invitations/validate/abcDEF-_123 HTTP/1.1") == \
        "GET /api/v1/team-invitations/validate/[redacted] HTTP/1.1"
    assert redact("/invite?token=abc&x=1") == "/invite?token=[redacted]&x=1"
    assert redact("/setup?next=/&token=abc") == "/setup?next=/&token=[redacted]"


def test_the_filter_rewrites_uvicorn_access_log_arguments():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:1", "GET", "/api/v1/team-invitations/validate/SECRET", "1.1", 200), None)
    RedactTokens().filter(record)
    assert "SECRET" not in record.getMessage() and "[redacted]" in record.getMessage()
