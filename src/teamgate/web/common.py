"""The pages' templates and their error page. (The shell, the security headers, redirects and
`next` are shared with oidc/: http/pages.py; who is looking and CSRF for forms: http/forms.py.)"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse

from teamgate import errors
from teamgate.http.errors import status_for
from teamgate.http.forms import Viewer
from teamgate.http.pages import PAGE_HEADERS, redirect, render, renderer, safe_next

__all__ = ["HERE", "PAGE_HEADERS", "page", "problem_page", "redirect", "safe_next", "templates"]

HERE = Path(__file__).parent
templates = renderer(HERE / "templates")


def page(request: Request, name: str, status: int = 200, form_targets: Iterable[str] = (), **context) -> HTMLResponse:
    return render(templates, request, name, status, form_targets, **context)


def problem_page(request: Request, exc: errors.TeamgateError, who: Viewer | None = None) -> HTMLResponse:
    """A refused page request, as a page (http/errors.py calls it for every page route)."""
    response = page(request, "message.html", status=status_for(exc.code), title=exc.title, message=exc.detail,
                     viewer=who)
    if "retryAfter" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retryAfter"])
    return response
