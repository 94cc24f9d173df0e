"""What every page shares: templates, security headers, redirects, the error page.
(Who is looking and CSRF for forms are request pieces: http/forms.py.)"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from teamgate import errors
from teamgate.http.cookies import set_presession_cookie
from teamgate.http.deps import runtime
from teamgate.http.errors import status_for
from teamgate.http.forms import Viewer

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    rt = runtime(request)
    response = templates.TemplateResponse(request, name, {"product": rt.settings.product_name, **context},
                                          status_code=status)
    response.headers.update(PAGE_HEADERS)
    if presession := getattr(request.state, "presession", None):
        set_presession_cookie(response, rt, presession)
    return response


def redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(PAGE_HEADERS)
    return response


def safe_next(target: str | None, default: str = "/console") -> str:
    """Only a path on this site: never `//elsewhere` or `https://elsewhere` (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def problem_page(request: Request, exc: errors.TeamgateError, who: Viewer | None = None) -> HTMLResponse:
    """A refused page request, as a page (http/errors.py calls it for every page route)."""
    response = page(request, "message.html", status=status_for(exc.code), title=exc.title, message=exc.detail,
                     viewer=who)
    if "retryAfter" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retryAfter"])
    return response
