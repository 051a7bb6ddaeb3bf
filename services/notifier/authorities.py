"""Authorities, their systems' API keys and the inbox's sessions.

- An API key is shown once and stored only as its SHA-256 digest. An authority has several,
  each with a name, its creation time, its last use (kept to the minute) and, once revoked,
  its revocation time. Rotation without downtime: create the new key, move the systems over,
  revoke the old one (``buursignaal keys create|list|revoke``).
- Revoking a key ends at once what it opened: the API refuses it on the next request, and the
  inbox sessions signed in with it (development sign-in, ADR 0016) are deleted.
- An inbox session is a row here; the browser holds only a random token in a signed cookie,
  and the row keeps its SHA-256. It ends after ``inbox_idle_s`` without use, at sign-out, or
  when its key is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Text
from sqlmodel import Field, SQLModel, col, select

from services.notifier.models import Authority
from services.runtime.database import SessionFactory, utc_column, write_transaction

LAST_USE_STEP = timedelta(minutes=1)  # last use is written at most once a minute per key


class ApiKey(SQLModel, table=True):
    """One of an authority's API keys, by its digest."""

    __tablename__ = "api_key"

    id: str = Field(primary_key=True, max_length=36)
    recipient_id: str = Field(max_length=64, index=True)
    name: str = Field(max_length=100)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = utc_column()
    last_used_at: datetime | None = utc_column(nullable=True)
    revoked_at: datetime | None = utc_column(nullable=True)


class InboxSession(SQLModel, table=True):
    """A person signed in to the inbox: who, for which organisation, in which role."""

    __tablename__ = "inbox_session"

    id: str = Field(primary_key=True, max_length=64)  # SHA-256 of the cookie's token
    organisation: str = Field(max_length=100)  # "recipient:od-odnzkg", "table:national", ...
    organisation_name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    subject: str = Field(max_length=128, index=True)  # the provider's pseudonymous subject id
    display_name: str = Field(max_length=200)
    api_key_id: str | None = Field(default=None, max_length=36, index=True)
    id_token: str | None = Field(default=None, sa_type=Text)  # for the provider's logout
    provider_sid: str | None = Field(default=None, max_length=128, index=True)  # its ``sid``
    created_at: datetime = utc_column()
    last_seen_at: datetime = utc_column()


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


async def register_authority(
    sessions: SessionFactory,
    recipient_id: str,
    name: str,
    key_name: str = "initial",
    now: datetime | None = None,
) -> str:
    """Add (or rename) ``recipient_id`` and give it a new key; returns the key, not kept.

    Keys it had before keep working until they are revoked."""
    async with write_transaction(sessions) as session:
        existing = await session.get(Authority, recipient_id)
        if existing is None:
            session.add(Authority(recipient_id=recipient_id, name=name))
        elif existing.name != name:
            existing.name = name
            session.add(existing)
    _, key = await create_key(sessions, recipient_id, key_name, now)
    return key


async def create_key(
    sessions: SessionFactory, recipient_id: str, name: str, now: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key for a registered authority (``LookupError`` otherwise): its row and itself."""
    key = secrets.token_urlsafe(32)
    row = ApiKey(
        id=str(uuid.uuid4()),
        recipient_id=recipient_id,
        name=name,
        key_hash=key_digest(key),
        created_at=now or _now(),
    )
    async with write_transaction(sessions) as session:
        if await session.get(Authority, recipient_id) is None:
            raise LookupError(f"no authority {recipient_id}: register it first")
        session.add(row)
    return row, key


async def list_keys(sessions: SessionFactory, recipient_id: str | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(col(ApiKey.recipient_id), col(ApiKey.created_at))
    if recipient_id is not None:
        query = query.where(ApiKey.recipient_id == recipient_id)
    async with sessions() as session:
        return list((await session.exec(query)).all())


async def revoke_key(sessions: SessionFactory, key_id: str, now: datetime | None = None) -> bool:
    """Revoke a key and end the inbox sessions it opened; False when there is no such key."""
    async with write_transaction(sessions) as session:
        row = await session.get(ApiKey, key_id)
        if row is None:
            return False
        if row.revoked_at is None:
            row.revoked_at = now or _now()
            session.add(row)
        opened = select(InboxSession).where(col(InboxSession.api_key_id) == key_id)
        for signed_in in (await session.exec(opened)).all():
            await session.delete(signed_in)
    return True


async def authority_for_key(
    sessions: SessionFactory, key: str, now: datetime | None = None
) -> tuple[Authority, ApiKey] | None:
    """The authority of a valid, unrevoked key, and the key (its last use noted)."""
    if not key:
        return None
    moment = now or _now()
    async with sessions() as session:
        row = (await session.exec(select(ApiKey).where(ApiKey.key_hash == key_digest(key)))).first()
        if row is None or row.revoked_at is not None:
            return None
        authority = await session.get(Authority, row.recipient_id)
    if authority is None:
        return None
    if row.last_used_at is None or moment - row.last_used_at >= LAST_USE_STEP:
        async with write_transaction(sessions) as session:
            stored = await session.get(ApiKey, row.id)
            if stored is not None:
                stored.last_used_at = moment
                session.add(stored)
    return authority, row
