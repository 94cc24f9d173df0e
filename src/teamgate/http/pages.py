"""What every server-rendered page shares, whichever package draws it (web/ and oidc/): the
page shell (templates/base.html), the security headers, redirects and the rule for `next`.

A page's Content-Security-Policy lets its forms post only to this site (`form-action 'self'`).
Chromium applies that rule to every redirect that follows the form's POST too, so a form whose
answer leads on to another site (signing in to a product, accepting an invitation that
continues in the product) names that one origin: `page(..., form_targets=[origin])`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from teamgate.http.cookies import set_presession_cookie
from teamgate.http.deps import runtime

SHELL = Path(__file__).parent / "templates"

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'{targets}; "
       "frame-ancestors 'none'; base-uri 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": CSP.format(targets=""),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def renderer(directory: Path) -> Jinja2Templates:
    """Templates of one package, with the shared shell beside them."""
    return Jinja2Templates(directory=[directory, SHELL])


def headers(form_targets: Iterable[str] = ()) -> dict[str, str]:
    """The page headers; `form_targets` are origins (checked by the caller: a registered
    client's, say) that the page's forms may lead to after this site."""
    targets = "".join(f" {origin}" for origin in sorted(set(form_targets)) if _plain_origin(origin))
    return {**PAGE_HEADERS, "Content-Security-Policy": CSP.format(targets=targets)}


def _plain_origin(origin: str) -> bool:
    return origin.startswith(("https://", "http://")) and not any(c in origin for c in " ;,'\"\r\n")


def render(templates: Jinja2Templates, request: Request, name: str, status: int = 200,
           form_targets: Iterable[str] = (), **context) -> HTMLResponse:
    rt = runtime(request)
    response = templates.TemplateResponse(request, name, {"product": rt.settings.product_name, **context},
                                          status_code=status)
    response.headers.update(headers(form_targets))
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
