"""Request and response models of webhooks (DESIGN 11), beside schemas.py. An endpoint's secret
appears only in `WebhookWithSecret`, the answer to create and rotate-secret."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from teamgate.api.schemas import Input, MultilineText, Output, Text, Utc
from teamgate.domain.webhooks import URL_MAX

Url = Annotated[Text, Field(min_length=1, max_length=URL_MAX)]
EventType = Annotated[Text, Field(min_length=1, max_length=64)]
Description = Annotated[MultilineText, Field(max_length=500)]


class WebhookCreate(Input):
    url: Url
    events: Annotated[list[EventType], Field(default_factory=list, max_length=50)]
    description: Description = ""


class WebhookUpdate(Input):
    url: Url | None = None
    events: Annotated[list[EventType], Field(max_length=50)] | None = None
    description: Description | None = None
    enabled: bool | None = None


class WebhookOut(Output):
    id: str
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_at: Utc | None
    failing_since: Utc | None
    created_at: Utc


class WebhookWithSecret(WebhookOut):
    secret: str  # shown once


class DeliveryOut(Output):
    id: str
    event_id: str | None
    type: str
    status: str  # queued, sending, delivered, failed
    attempts: int
    last_response_status: int | None
    last_response_excerpt: str | None
    last_error: str | None
    last_error_code: str | None
    next_attempt_at: Utc | None
    created_at: Utc
    delivered_at: Utc | None
