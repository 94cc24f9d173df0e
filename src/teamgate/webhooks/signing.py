"""Standard Webhooks signatures, made by the `standardwebhooks` package rather than by hand."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from math import floor

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks asks for 24 to 64 bytes of randomness


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def headers(event_id: str, body: bytes, signing_secrets: list[str], at: datetime) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and one `v1,...` signature per live secret, space-separated
    (a receiver that knows either secret of a rotation's overlap can verify)."""
    signatures = [Webhook(secret).sign(event_id, at, body) for secret in signing_secrets]
    return {"webhook-id": event_id, "webhook-timestamp": str(floor(at.timestamp())),
            "webhook-signature": " ".join(signatures), "content-type": "application/json"}
