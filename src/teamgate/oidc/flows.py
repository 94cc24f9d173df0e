"""The interactive parts of the provider, decided by Authlib in the worker thread: whether an
authorization request goes back to the client (with a code or an error), needs the person to
sign in or to consent first, or cannot be answered at all (an unknown client, a redirect URI
that is not registered: then teamgate shows its own page and never redirects there); and
whether a logout request ends the session now or asks first."""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749 import AccessDeniedError, OAuth2Error
from authlib.oidc.core.errors import ConsentRequiredError

from teamgate.domain import oidc as rules
from teamgate.oidc.bridge import Incoming, wait
from teamgate.oidc.models import Client, Subject
from teamgate.oidc.server import Answer, Provider
from teamgate.services import oauth_grants


@dataclass
class Authorization:
    answer: Answer | None = None  # a redirect to the client's registered redirect URI
    login: bool = False  # sign in first (`again`: even if signed in, for prompt=login)
    again: bool = False
    consent: Client | None = None  # ask the person before going back to this client
    scopes: tuple[str, ...] = ()
    redirect_uri: str = ""
    problem: str | None = None  # nothing may go back to the client: teamgate's own error page


def authorize(provider: Provider, incoming: Incoming, subject: Subject | None, *, team_asked: bool,
              decision: str | None) -> Authorization:
    try:
        grant = provider.get_consent_grant(request=incoming, end_user=subject)
    except OAuth2Error as error:
        if error.redirect_uri:  # the client and its redirect URI are known good: tell the client
            return Authorization(answer=provider.with_issuer(provider.handle_error_response(None, error)))
        return Authorization(problem=error.description or error.error)
    request, client = grant.request, grant.request.client
    state, prompts = request.payload.state, (request.payload.data.get("prompt") or "").split()
    scopes = tuple(rules.granted_scopes(request.scope))
    if subject is None:
        return Authorization(login=True)
    if "login" in prompts:
        return Authorization(login=True, again=True)
    if team_asked and subject.person.team is None:
        refused = AccessDeniedError("You are not a member of the team this application asked for.", state=state,
                                    redirect_uri=grant.redirect_uri)
        return Authorization(answer=provider.with_issuer(provider.handle_error_response(None, refused)))
    if decision is None and ("consent" in prompts or wait(
            lambda db, rt: oauth_grants.needs_consent(db, subject.person.user, client.row, list(scopes)))):
        if "none" in prompts:
            refused = ConsentRequiredError(state=state, redirect_uri=grant.redirect_uri)
            return Authorization(answer=provider.with_issuer(provider.handle_error_response(None, refused)))
        return Authorization(consent=client, scopes=scopes, redirect_uri=grant.redirect_uri)
    if decision == "allow" and not client.row.first_party:
        wait(oauth_grants.remember_consent, subject.person.user, client.row, list(scopes))
    granted = subject if decision != "deny" else None
    return Authorization(answer=provider.create_authorization_response(request, grant_user=granted, grant=grant))


@dataclass
class Logout:
    answer: Answer | None = None  # a redirect to the registered post-logout URI
    ended: bool = False  # end the teamgate session
    confirm: bool = False  # ask first (no id_token_hint, or one for somebody else)
    client: Client | None = None
    target: str | None = None  # where the confirmed logout will lead, if registered
    problem: str | None = None


def logout(provider: Provider, incoming: Incoming, viewer_id: str | None, *, confirmed: bool) -> Logout:
    try:
        request = provider.validate_endpoint_request("end_session", incoming)
    except OAuth2Error as error:
        return Logout(problem=error.description or error.error)
    hint_sub = (request.id_token_claims or {}).get("sub")
    if not confirmed and (request.needs_confirmation or (viewer_id is not None and hint_sub != viewer_id)):
        wanted = request.request.payload.data.get("post_logout_redirect_uri")
        client = request.client
        registered = client is not None and wanted in client.row.post_logout_redirect_uris
        return Logout(confirm=True, client=client, target=wanted if registered else None)
    answer = provider.create_endpoint_response("end_session", request)
    return Logout(answer=answer, ended=True)
