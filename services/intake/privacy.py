"""Pseudonyms and secrets: reporter keys, tracking tokens, signed photo links.

- The reporter key is a keyed HMAC-SHA256 over the device id (or the e-mail address), so
  downstream services can count unique reporters without learning who they are. Without either,
  every report gets a key of its own.
- Tracking tokens are a 256-bit HMAC of the report id (so an idempotent retry can return
  the same link); only their SHA-256 is stored for lookup.
- Photo links for authorities are signed with an expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ContactsAsked(BaseModel):
    """``POST /internal/v1/contacts`` (the notifier, bearer token): whose addresses it needs
    for one round of mail. Addresses leave intake only this way, at the moment of sending."""

    model_config = ConfigDict(extra="forbid")

    report_ids: list[str] = Field(min_length=1, max_length=500)


def reporter_key(secret: str, *, device_id: str | None, email: str | None) -> str:
    basis = f"device:{device_id}" if device_id else f"email:{email.lower()}" if email else None
    if basis is None:
        basis = f"anonymous:{secrets.token_hex(16)}"
    return hmac.new(secret.encode(), basis.encode(), hashlib.sha256).hexdigest()


def tracking_token(secret: str, report_id: str) -> str:
    """256-bit token for the resident's private tracking link; recomputable for retries."""
    digest = hmac.new(secret.encode(), f"tracking:{report_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def unsubscribe_token(secret: str, report_id: str) -> str:
    """The signature in a report's unsubscribe link (mails carry it; nothing is stored)."""
    return hmac.new(
        secret.encode(), f"unsubscribe:{report_id}".encode(), hashlib.sha256
    ).hexdigest()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_photo(secret: str, photo_id: str, expires: int) -> str:
    message = f"photo:{photo_id}:{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def photo_signature_valid(
    secret: str, photo_id: str, expires: int, signature: str, now: datetime
) -> bool:
    if expires < int(now.timestamp()):
        return False
    return hmac.compare_digest(sign_photo(secret, photo_id, expires), signature)
