"""Request and response models of the OpenID Connect clients' admin API (DESIGN 13), beside
schemas.py. A client's secret appears only in the answer to create."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from teamgate.api.schemas import Input, Output, Text, Utc
from teamgate.domain.oidc import MAX_REDIRECT_URIS

Uri = Annotated[Text, Field(min_length=1, max_length=2000)]
Name = Annotated[Text, Field(min_length=1, max_length=100)]


class OidcClientCreate(Input):
    name: Name
    redirect_uris: Annotated[list[Uri], Field(min_length=1, max_length=MAX_REDIRECT_URIS)]
    post_logout_redirect_uris: Annotated[list[Uri], Field(default_factory=list, max_length=MAX_REDIRECT_URIS)]
    public: bool = False
    first_party: bool = False


class OidcClientOut(Output):
    id: str
    client_id: str
    name: str
    public: bool
    first_party: bool
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    created_at: Utc


class OidcClientWithSecret(OidcClientOut):
    client_secret: str | None
